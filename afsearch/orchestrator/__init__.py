"""The orchestrator: Ray Tune with Optuna samplers, callbacks that write the trial database.

A trial is one :class:`TrialSpec`, proposed on the driver (``_proposer``), trained on a worker
(``_trainable``), which reports the keys of ``_report``, and written by the driver's callback
(``_callback``); :func:`launch` puts the stages together.
"""

from afsearch.orchestrator._callback import StoreCallback
from afsearch.orchestrator._events import (
    Best,
    LaunchObserver,
    StudyStarted,
    TrialFinished,
    TrialReported,
    TrialStarted,
)
from afsearch.orchestrator._launch import LaunchResult, launch
from afsearch.orchestrator._prescreen import Prescreen, PrescreenPool, fit_predict
from afsearch.orchestrator._ray import (
    DEFAULT_RUNS_DIR,
    RAY_ADDRESS_ENV,
    RUNS_ENV,
    default_runs_dir,
)
from afsearch.orchestrator._spec import Checkpoint, Reuse, TrialSpec

__all__ = [
    "DEFAULT_RUNS_DIR",
    "RAY_ADDRESS_ENV",
    "RUNS_ENV",
    "Best",
    "Checkpoint",
    "LaunchObserver",
    "LaunchResult",
    "Prescreen",
    "PrescreenPool",
    "Reuse",
    "StoreCallback",
    "StudyStarted",
    "TrialFinished",
    "TrialReported",
    "TrialSpec",
    "TrialStarted",
    "default_runs_dir",
    "fit_predict",
    "launch",
]
