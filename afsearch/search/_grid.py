"""``sampler: grid``: every candidate of the space once, in order (Optuna's GridSampler over
the candidates' index)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import optuna

from afsearch.domains import Where
from afsearch.exceptions import AfsearchError
from afsearch.search._base import BaseStrategy, History, Proposal

if TYPE_CHECKING:
    from afsearch.space import SearchSpace

#: The most candidates a grid may hold.
MAX_GRID = 10_000


class _GridSampler(optuna.samplers.GridSampler):
    """GridSampler without its stop-when-exhausted hook.

    That hook calls ``Study.stop()``, which only works inside ``Study.optimize``; under ask/tell
    it raises before the trial's state is saved. The study's sample count (at most the grid's
    size) ends the study instead.
    """

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        return None


class Grid(BaseStrategy):
    name = "grid"
    description = "every candidate of the space once (ranges need a step)"
    can_prescreen = False

    def __init__(self, space: SearchSpace, seed: int) -> None:
        from afsearch.space import grid_configs

        super().__init__(space, seed)
        self.configs = list(grid_configs(space))

    @classmethod
    def check(cls, space: SearchSpace) -> None:
        from afsearch.space import grid_configs

        where = Where(space.source)
        super().check(space)
        if space.enqueue:
            raise where.at("enqueue").error(
                "a grid tries every candidate of the space in its own order; use another "
                "sampler or leave enqueue out."
            )
        if space.per_site:
            raise where.at("per_site").error(
                "a grid over one candidate per site would multiply the grid by itself once per "
                "site; use another sampler (tpe, random, evolution) with per_site."
            )
        try:
            n = sum(1 for _ in grid_configs(space))
        except AfsearchError as exc:
            raise where.at("sampler").error(str(exc)) from None
        if n > MAX_GRID:
            raise where.at("sampler").error(
                f"grid over {n} candidates is too large (at most {MAX_GRID})."
            )

    @classmethod
    def num_samples(cls, space: SearchSpace) -> int:
        from afsearch.space import grid_configs

        return min(space.num_samples, sum(1 for _ in grid_configs(space)))

    def sampler(self, seed: int) -> Any:
        return _GridSampler({"candidate": list(range(len(self.configs)))}, seed=seed)

    def propose(self, trial: Any, history: History) -> Proposal:
        index = trial.suggest_categorical("candidate", list(range(len(self.configs))))
        activation, task_values = self.configs[index]
        return Proposal(dict(activation), dict(task_values))
