"""What a trial is: the :class:`TrialSpec` the driver builds and the worker runs, the keys a
trial reports each epoch, the events a launch tells its observer, the run logs (MLflow,
TensorBoard) it is written to, and the Optuna user attributes afsearch keeps. Light on purpose:
the command line reads these constants without loading torch, Ray or Optuna (names are
imported when first used, PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from afsearch._lazy import lazy_surface

if TYPE_CHECKING:
    from afsearch.trial import attrs, inputs, report
    from afsearch.trial._candidate import candidate_of
    from afsearch.trial._events import (
        Best,
        ConfirmRunFinished,
        ConfirmStarted,
        LaunchObserver,
        StudyStarted,
        TrialFinished,
        TrialReported,
        TrialStarted,
    )
    from afsearch.trial._run_logs import (
        BaseRunLogger,
        LoggedTrial,
        TrialEnd,
        get_run_logger,
        register_run_logger,
        run_logger_names,
    )
    from afsearch.trial._spec import CONFIG_KEY, Checkpoint, Reuse, TrialSpec, dedup_key

_HOMES = {
    # Public modules of constants: ``afsearch.trial.report.EPOCH``, ``trial.attrs.EVOLVED``.
    "attrs": "attrs",
    "inputs": "inputs",
    "report": "report",
    "candidate_of": "_candidate",
    "Best": "_events",
    "ConfirmRunFinished": "_events",
    "ConfirmStarted": "_events",
    "LaunchObserver": "_events",
    "StudyStarted": "_events",
    "TrialFinished": "_events",
    "TrialReported": "_events",
    "TrialStarted": "_events",
    "BaseRunLogger": "_run_logs",
    "LoggedTrial": "_run_logs",
    "TrialEnd": "_run_logs",
    "get_run_logger": "_run_logs",
    "register_run_logger": "_run_logs",
    "run_logger_names": "_run_logs",
    "CONFIG_KEY": "_spec",
    "Checkpoint": "_spec",
    "Reuse": "_spec",
    "TrialSpec": "_spec",
    "dedup_key": "_spec",
}

__all__ = [
    "CONFIG_KEY",
    "BaseRunLogger",
    "Best",
    "Checkpoint",
    "ConfirmRunFinished",
    "ConfirmStarted",
    "LaunchObserver",
    "LoggedTrial",
    "Reuse",
    "StudyStarted",
    "TrialEnd",
    "TrialFinished",
    "TrialReported",
    "TrialSpec",
    "TrialStarted",
    "attrs",
    "candidate_of",
    "dedup_key",
    "get_run_logger",
    "inputs",
    "register_run_logger",
    "report",
    "run_logger_names",
]

__getattr__, __dir__ = lazy_surface(__name__, _HOMES)
