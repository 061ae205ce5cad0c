"""``sampler: evolution``: regularized (aging) evolution over the structure of candidates.

Real et al. 2019 ("Regularized evolution for image classifier architecture search"), and for
activation functions Bingham, Macke & Miikkulainen 2020 and PANGAEA (Bingham & Miikkulainen
2022). The population is the study's ``population`` most recent trials that got a value, read
from the database at every proposal, so a resumed study rebuilds it. Until the study holds that
many trials, proposals are the ``initial`` named activations, then random draws from the space;
after that each proposal is a tournament (``tournament`` members drawn at random, the best one
the parent) and the parent's family mutates it (:meth:`BaseFamily.mutate`). With
``fresh`` > 0, that share of children is a fresh draw from the space instead, which keeps a
population that has converged exploring. ``mutations`` weighs the kinds of change to a grammar
tree (another binary or unary operator, a node inserted or removed, a subtree replaced), also
of a grammar member of an ensemble.

``floor`` keeps every kind of function of the space alive (:mod:`afsearch.search._niches`):
when a kind would have fewer than ``floor`` x ``population`` members (at least one) among the
``population`` most recent trials, the child among them, the child is of that kind: a mutation
of the best of a tournament among the kind's most recent members with a value, or a fresh draw
of it when it has none yet. ``draws: kind`` makes a fresh draw pick a kind first, then a family
of it, so that a space of twelve parametric families and one grammar draws a tree as often as a
parametric function.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from afsearch.activations import kind_of, mutate_family, random_suggester, sample_family
from afsearch.domains import FamilySpace
from afsearch.search._evolution_options import EvolutionOptions
from afsearch.search._history import Scored
from afsearch.search._niches import kind_due, space_kinds


class Evolution:
    """Proposes activation configs for a study's space (see the module docstring)."""

    def __init__(self, families: Sequence[FamilySpace], options: EvolutionOptions) -> None:
        self.families = list(families)
        self.options = options
        self.kinds = space_kinds(self.families)

    def propose(
        self,
        rng: random.Random,
        started: int,
        history: Sequence[Scored],
        tried: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """The next config: ``started`` is how many trials the study holds, ``history`` its
        trials with a value, oldest first, ``tried`` every trial's config so far (those in
        flight too), oldest first."""
        opts = self.options
        if started < len(opts.initial):
            return {"family": "standard", "name": opts.initial[started]}
        kind = kind_due(tried, self.kinds, opts.floor, opts.population)
        if kind is not None:
            return self.of_kind(rng, kind, history)
        if started < opts.population or not history or rng.random() < opts.fresh:
            return self.draw(rng)
        return self.mutate(rng, self.select(rng, history).activation)

    def of_kind(self, rng: random.Random, kind: str, history: Sequence[Scored]) -> dict[str, Any]:
        """A child of ``kind``: a mutation of the best of a tournament among its most recent
        members with a value, or a fresh draw of it when it has none (or as ``fresh`` says)."""
        members = [h for h in history if kind_of(h.activation) == kind]
        if not members or rng.random() < self.options.fresh:
            return self.draw(rng, kind)
        return self.mutate(rng, self.select(rng, members).activation)

    def select(self, rng: random.Random, history: Sequence[Scored]) -> Scored:
        """The parent: the best of ``tournament`` members drawn from the ``population`` most
        recent of ``history`` (oldest first)."""
        opts = self.options
        population = list(history)[-opts.population :]
        contenders = rng.sample(population, min(opts.tournament, len(population)))
        return max(contenders, key=lambda m: m.score)

    def draw(self, rng: random.Random, kind: str | None = None) -> dict[str, Any]:
        """A fresh config: a family sub-space of the space (of ``kind``; with ``draws: kind``
        of a kind drawn first), then a draw from it."""
        if kind is None and self.options.draws == "kind":
            kind = rng.choice(self.kinds)
        families = [
            fs for fs in self.families if kind is None or kind_of({"family": fs.family}) == kind
        ]
        space = rng.choice(families)
        return sample_family(space, random_suggester(rng), space.label)

    def mutate(self, rng: random.Random, parent: Mapping[str, Any]) -> dict[str, Any]:
        """A child of ``parent`` as its family mutates it; a draw when ``parent`` is a named
        starting point, whose family is not in the space."""
        space = self._space_of(parent)
        if space is None:
            return self.draw(rng)
        return mutate_family(parent, space, rng, self.options.mutations or None)

    def _space_of(self, activation: Mapping[str, Any]) -> FamilySpace | None:
        family = activation.get("family")
        return next((fs for fs in self.families if fs.family == family), None)
