"""The orchestrator: Ray Tune with Optuna samplers, callbacks that write the trial database.

A trial is one :class:`TrialSpec`, proposed on the driver (``_proposer``), trained on a worker
(``_trainable``), which reports the keys of ``_report``, and written by the driver's callback
(``_callback``); :func:`launch` puts the stages together.
"""

from afsearch.orchestrator._callback import StoreCallback
from afsearch.orchestrator._confirm import ConfirmResult, confirm_study, judge, top_distinct
from afsearch.orchestrator._events import (
    Best,
    ConfirmRunFinished,
    ConfirmStarted,
    LaunchObserver,
    StudyStarted,
    TrialFinished,
    TrialReported,
    TrialStarted,
)
from afsearch.orchestrator._init_signal import SIGNALS, InitProbe
from afsearch.orchestrator._launch import LaunchResult, launch
from afsearch.orchestrator._prescreen import Prescreen, PrescreenPool, fit_predict
from afsearch.orchestrator._ray import (
    DEFAULT_RUNS_DIR,
    RAY_ADDRESS_ENV,
    RUNS_ENV,
    default_runs_dir,
    init_ray,
)
from afsearch.orchestrator._seeds import (
    FRESH_SEED_BASE,
    SeedJob,
    SeedRun,
    candidate_of,
    fresh_seeds,
    train_seed,
    train_seeds,
)
from afsearch.orchestrator._spec import Checkpoint, Reuse, TrialSpec
from afsearch.orchestrator._stats import difference_interval, holm, welch

__all__ = [
    "DEFAULT_RUNS_DIR",
    "FRESH_SEED_BASE",
    "RAY_ADDRESS_ENV",
    "RUNS_ENV",
    "SIGNALS",
    "Best",
    "Checkpoint",
    "ConfirmResult",
    "ConfirmRunFinished",
    "ConfirmStarted",
    "InitProbe",
    "LaunchObserver",
    "LaunchResult",
    "Prescreen",
    "PrescreenPool",
    "Reuse",
    "SeedJob",
    "SeedRun",
    "StoreCallback",
    "StudyStarted",
    "TrialFinished",
    "TrialReported",
    "TrialSpec",
    "TrialStarted",
    "candidate_of",
    "confirm_study",
    "default_runs_dir",
    "difference_interval",
    "fit_predict",
    "fresh_seeds",
    "holm",
    "init_ray",
    "judge",
    "launch",
    "top_distinct",
    "train_seed",
    "train_seeds",
    "welch",
]
