"""ASHA that a resumed study starts from the rungs its earlier runs filled.

Each launch builds a new Tune ``Tuner``, so without this a resumed study's ASHA would begin with
empty rungs and let every trial through its first cutoffs. The scheduler counts epochs
(``time_attr="epoch"``), so the stored epoch results of the study's finished trials say exactly
what the earlier scheduler recorded at each rung.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ray.tune.schedulers import ASHAScheduler

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
