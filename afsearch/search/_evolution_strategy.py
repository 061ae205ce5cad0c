"""``sampler: evolution``: regularized evolution over the activation's structure
(:mod:`afsearch.search._evolution`); Optuna's random sampler draws the task values."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from afsearch.search._base import BaseStrategy, History, Proposal
from afsearch.search._evolution import Evolution
from afsearch.search._evolution_options import EvolutionOptions

if TYPE_CHECKING:
    from afsearch.space import SearchSpace


class EvolutionStrategy(BaseStrategy):
    name = "evolution"
    description = "regularized evolution over operator trees and family values"
    uses_history = True

    def __init__(self, space: SearchSpace, seed: int) -> None:
        super().__init__(space, seed)
        self.evolution = Evolution(space.families, EvolutionOptions.parse(space.sampler_options))

    @classmethod
    def create(cls, space: SearchSpace, seed: int) -> BaseStrategy:
        if space.per_site:
            from afsearch.search._site_evolution import SiteEvolutionStrategy

            return SiteEvolutionStrategy(space, seed)
        return cls(space, seed)

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        EvolutionOptions.parse(options)

    def sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.RandomSampler(seed=seed)

    def child(self, rng: random.Random, history: History) -> dict[str, Any]:
        """One proposal of the evolution from the study's history."""
        return self.evolution.propose(rng, history.started, history.scored, history.tried)

    def propose(self, trial: Any, history: History) -> Proposal:
        rng = random.Random(f"{self.seed}:{history.number}")
        return Proposal(self.child(rng, history), self.task_values(trial), remember=True)

    def proposals(self, trial: Any, history: History, n: int) -> list[Proposal]:
        rngs = [random.Random(f"{self.seed}:{history.number}:{k}") for k in range(n)]
        return [Proposal(self.child(rng, history), remember=True) for rng in rngs]

    def choose(self, trial: Any, proposal: Proposal) -> Proposal:
        return Proposal(proposal.activation, self.task_values(trial), remember=True)
