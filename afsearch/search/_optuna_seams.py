"""Every use of Optuna's private attributes, in one place.

Optuna has no public way to make a trial that was already asked for suggest given values (its
``enqueue_trial`` fixes the values of a trial not yet asked), and its NSGA-II sampler holds a
thread lock that does not pickle. Tested with optuna 5.0 and 5.1;
``tests/search/test_optuna_seams.py`` fails loudly when a new release moves what this module
reaches into.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import optuna

#: The Optuna releases this module was checked against (major.minor).
TESTED_WITH = ("5.0", "5.1")


def fix_params(trial: Any, params: Mapping[str, Any]) -> None:
    """Make ``trial`` suggest ``params`` when asked for them, as an enqueued trial does."""
    fixed = getattr(trial, "_fixed_params", None)
    if not isinstance(fixed, dict):
        raise TypeError(f"{type(trial).__name__} is not an Optuna trial")
    fixed.update(params)


class PicklableNSGAII(optuna.samplers.NSGAIISampler):
    """NSGAIISampler that pickles: Ray Tune saves its searcher with the experiment's state, and
    the sampler holds a thread lock (made again on unpickling)."""

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_thread_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._thread_lock = threading.Lock()
