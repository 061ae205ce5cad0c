"""``sampler: evolution`` with ``per_site``: a child is its parent with one site mutated.

The population, tournament and fresh draws are :class:`~afsearch.search._evolution.
Evolution`'s, over per-site configs; the chosen parent's site k (drawn at random) changes as
the family of that site mutates it, the other sites stay (PANGAEA changes one layer's
activation at a time). The ``initial`` named activations stand at every site at once.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from afsearch.activations import is_per_site, per_site_config
from afsearch.search._base import History
from afsearch.search._evolution import Evolution
from afsearch.search._evolution_strategy import EvolutionStrategy
from afsearch.search._history import Scored

if TYPE_CHECKING:
    from afsearch.space import SearchSpace


class SiteEvolution:
    """Proposes per-site configs of ``sites`` sites with ``evolution``'s options."""

    def __init__(self, evolution: Evolution, sites: int) -> None:
        self.evolution = evolution
        self.sites = sites

    def propose(
        self, rng: random.Random, started: int, history: Sequence[Scored]
    ) -> dict[str, Any]:
        opts = self.evolution.options
        if started < len(opts.initial):
            named = {"family": "standard", "name": opts.initial[started]}
            return per_site_config([named] * self.sites)
        valid = [
            h
            for h in history
            if is_per_site(h.activation) and len(h.activation["sites"]) == self.sites
        ]
        if started < opts.population or not valid or rng.random() < opts.fresh:
            # An empty history past the initial ones: a fresh draw at every site.
            return per_site_config([self.evolution.draw(rng) for _ in range(self.sites)])
        parent = self.evolution.select(rng, valid)
        sites = [dict(c) for c in parent.activation["sites"]]
        k = rng.randrange(self.sites)
        # A mutation, not a second roll of ``fresh``: whether the child is a fresh draw was
        # decided once, above.
        sites[k] = self.evolution.mutate(rng, sites[k])
        return per_site_config(sites)


class SiteEvolutionStrategy(EvolutionStrategy):
    """``sampler: evolution`` with ``per_site``: :class:`SiteEvolution` over the space's sites."""

    def __init__(self, space: SearchSpace, seed: int) -> None:
        super().__init__(space, seed)
        self.sites = SiteEvolution(self.evolution, space.sites)

    def child(self, rng: random.Random, history: History) -> dict[str, Any]:
        return self.sites.propose(rng, history.started, history.scored)
