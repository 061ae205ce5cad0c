"""A budget that counts distinct functions.

A proposal whose dedup key (activation id, task settings, seeds) matches a trial the study has
finished, or one it is training right now, gets no trial: the sampler is told what the original
got (at once, or when the running original ends) and draws again. Only proposals that train
use up the study's samples; a replay of another study's result trains nothing and is free.
A sampler that proposes only known functions :data:`PATIENCE` times in a row has exhausted the
space, and the study ends there with a sentence saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Proposals of known functions in a row after which a space counts as exhausted.
PATIENCE = 50


@dataclass
class DistinctBudget:
    """What the searcher knows of the study's distinct functions while it runs (picklable)."""

    trials_left: int
    duplicates_avoided: int = 0
    patience: int = PATIENCE
    #: dedup key -> Tune trial id of the trial training it now.
    live: dict[str, str] = field(default_factory=dict)
    #: Tune trial id -> its dedup key.
    key_of: dict[str, str] = field(default_factory=dict)
    #: dedup key -> Optuna trials that proposed it while it was training, told when it ends.
    waiting: dict[str, list[Any]] = field(default_factory=dict)
    stop_reason: str | None = None

    def start(self, trial_id: str, key: str, *, trains: bool) -> None:
        self.live[key] = trial_id
        self.key_of[trial_id] = key
        if trains:
            self.trials_left -= 1

    def end(self, trial_id: str) -> list[Any]:
        """Forget a trial that ended; the Optuna trials that proposed it meanwhile."""
        key = self.key_of.pop(trial_id, None)
        if key is None:
            return []
        self.live.pop(key, None)
        return self.waiting.pop(key, [])

    def exhausted(self, distinct: int) -> str:
        self.stop_reason = (
            f"the sampler proposed only functions the study already has {self.patience} times "
            f"in a row, after {distinct} distinct functions: the space looks exhausted, so the "
            "study ends here"
        )
        return self.stop_reason
