"""ASHA that a resumed study starts from the rungs its earlier runs filled.

Each launch builds a new Tune ``Tuner``, so without this a resumed study's ASHA would begin with
empty rungs and let every trial through its first cutoffs. The scheduler counts epochs
(``time_attr="epoch"``), so the stored epoch results of the study's finished trials say exactly
what the earlier scheduler recorded at each rung.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

from afsearch.space import Choice, Range, SearchSpace, task_settings
from afsearch.store import TrialStatus, TrialStore
from afsearch.trial.report import EPOCH

log = logging.getLogger(__name__)


class ResumableASHA(ASHAScheduler):
    def record_earlier(self, history: Mapping[str, Mapping[int, float]]) -> int:
        """Record each earlier trial's metric at every rung it reached; returns how many.

        ``history`` maps a key unique to each earlier trial to its metric by epoch (in the
        study's own sense: higher is better when the mode is ``max``).
        """
        brackets = getattr(self, "_brackets", None)
        metric_op = getattr(self, "_metric_op", None)
        rungs = getattr(brackets[0], "_rungs", None) if brackets and len(brackets) == 1 else None
        if metric_op is None or not isinstance(rungs, list):
            # Ray's bookkeeping changed shape: run on with empty rungs rather than guess.
            log.warning("afsearch: ASHA's rungs could not be restored; they start empty")
            return 0
        recorded_count = 0
        for milestone, recorded in rungs:
            for key, values in history.items():
                value = values.get(int(milestone))
                if value is not None:
                    recorded[key] = metric_op * value
                    recorded_count += 1
        return recorded_count


def make_scheduler(space: SearchSpace, store: TrialStore, study: str, *, resumed: bool) -> Any:
    """The space's scheduler; a resumed study's ASHA starts from its earlier rungs."""
    if space.scheduler != "asha" or space.objectives:
        return FIFOScheduler()
    max_t = _max_epochs(space)
    scheduler = ResumableASHA(
        # Epochs, not reports: a trial continued from a checkpoint meets its rungs at the epochs
        # it has trained.
        time_attr=EPOCH,
        metric=space.objective_metric,
        mode=space.objective_mode,
        max_t=max_t,
        grace_period=min(space.grace_period, max_t),
        reduction_factor=3,
    )
    if resumed:
        scheduler.record_earlier(_rung_history(store, study))
    return scheduler


def _rung_history(store: TrialStore, name: str) -> dict[str, dict[int, float]]:
    """The metric by epoch of every trial of study ``name`` that will not run again."""
    from afsearch.store import epochs, trials

    history: dict[str, dict[int, float]] = {}
    for t in trials(name, store):
        if t.status in (TrialStatus.RUNNING, TrialStatus.INTERRUPTED):
            continue
        values = {
            e.epoch: e.metric_value for e in epochs(t.id, store) if e.metric_value is not None
        }
        if values:
            history[f"earlier-{t.id}"] = values
    return history


def _max_epochs(space: SearchSpace) -> int:
    v = space.task_values.get("epochs")
    if isinstance(v, Range):
        return int(v.high)
    if isinstance(v, Choice):
        return int(max(v.options))
    if v is not None:
        return int(v)
    return int(task_settings(space, {}).epochs)
