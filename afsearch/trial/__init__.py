"""What a trial is: the :class:`TrialSpec` the driver builds and the worker runs, the keys a
trial reports each epoch, the events a launch tells its observer, and the Optuna user
attributes afsearch keeps. Light on purpose: the command line reads these constants without
loading torch, Ray or Optuna (names are imported when first used, PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from afsearch.trial import attrs, report
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
    from afsearch.trial._spec import CONFIG_KEY, Checkpoint, Reuse, TrialSpec, dedup_key

_HOMES = {
    "candidate_of": "_candidate",
    "Best": "_events",
    "ConfirmRunFinished": "_events",
    "ConfirmStarted": "_events",
    "LaunchObserver": "_events",
    "StudyStarted": "_events",
    "TrialFinished": "_events",
    "TrialReported": "_events",
    "TrialStarted": "_events",
    "CONFIG_KEY": "_spec",
    "Checkpoint": "_spec",
    "Reuse": "_spec",
    "TrialSpec": "_spec",
    "dedup_key": "_spec",
}
#: Public modules of constants: ``afsearch.trial.report.EPOCH``, ``afsearch.trial.attrs.EVOLVED``.
_MODULES = {"report": "report", "attrs": "attrs"}

__all__ = [
    "CONFIG_KEY",
    "Best",
    "Checkpoint",
    "ConfirmRunFinished",
    "ConfirmStarted",
    "LaunchObserver",
    "Reuse",
    "StudyStarted",
    "TrialFinished",
    "TrialReported",
    "TrialSpec",
    "TrialStarted",
    "attrs",
    "candidate_of",
    "dedup_key",
    "report",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(f"afsearch.trial.{_MODULES[name]}")
    elif name in _HOMES:
        value = getattr(importlib.import_module(f"afsearch.trial.{_HOMES[name]}"), name)
    else:
        raise AttributeError(f"module 'afsearch.trial' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES, *_MODULES])
