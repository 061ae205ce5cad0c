"""The orchestrator: Ray Tune and Optuna glue, and nothing else.

A trial is one :class:`afsearch.trial.TrialSpec`, proposed on the driver (``_proposer``, which
asks the space's :mod:`afsearch.search` strategy), trained on a worker (``_trainable``), which
reports the keys of :mod:`afsearch.trial.report`, and written by the driver's callback
(``_callback``); :func:`launch` puts the stages together, and the confirm stage
(:mod:`afsearch.confirm`) trains on Ray through :func:`ray_runner`. Names are imported when
first used (PEP 562): importing the package loads no Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from afsearch._lazy import lazy_surface

if TYPE_CHECKING:
    from afsearch.orchestrator._callback import StoreCallback
    from afsearch.orchestrator._launch import LaunchOptions, LaunchResult, launch
    from afsearch.orchestrator._parallel import ray_runner, train_seeds
    from afsearch.orchestrator._ray import (
        DEFAULT_RUNS_DIR,
        RAY_ADDRESS_ENV,
        RUNS_ENV,
        default_runs_dir,
        init_ray,
    )
    from afsearch.trial import (
        Best,
        ConfirmRunFinished,
        ConfirmStarted,
        LaunchObserver,
        StudyStarted,
        TrialFinished,
        TrialReported,
        TrialStarted,
    )

_EVENTS = (
    "Best",
    "ConfirmRunFinished",
    "ConfirmStarted",
    "LaunchObserver",
    "StudyStarted",
    "TrialFinished",
    "TrialReported",
    "TrialStarted",
)
#: Public name -> the module that defines it.
_HOMES = {
    "StoreCallback": "afsearch.orchestrator._callback",
    "LaunchOptions": "afsearch.orchestrator._launch",
    "LaunchResult": "afsearch.orchestrator._launch",
    "launch": "afsearch.orchestrator._launch",
    "ray_runner": "afsearch.orchestrator._parallel",
    "train_seeds": "afsearch.orchestrator._parallel",
    **dict.fromkeys(
        ("DEFAULT_RUNS_DIR", "RAY_ADDRESS_ENV", "RUNS_ENV", "default_runs_dir", "init_ray"),
        "afsearch.orchestrator._ray",
    ),
    # The events a launch tells its observer live with the trial contract.
    **dict.fromkeys(_EVENTS, "afsearch.trial"),
}

__all__ = [
    "DEFAULT_RUNS_DIR",
    "RAY_ADDRESS_ENV",
    "RUNS_ENV",
    "Best",
    "ConfirmRunFinished",
    "ConfirmStarted",
    "LaunchObserver",
    "LaunchOptions",
    "LaunchResult",
    "StoreCallback",
    "StudyStarted",
    "TrialFinished",
    "TrialReported",
    "TrialStarted",
    "default_runs_dir",
    "init_ray",
    "launch",
    "ray_runner",
    "train_seeds",
]

__getattr__, __dir__ = lazy_surface(__name__, _HOMES)
