"""The ``sampler_options`` of ``sampler: evolution``, checked when the space is read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from afsearch.activations import MUTATIONS
from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import KNOWN

#: The sampler_options ``sampler: evolution`` takes, with their defaults.
DEFAULTS: Mapping[str, Any] = {
    "population": 16,
    "tournament": 4,
    "initial": (),
    "fresh": 0.1,
    "mutations": {},
    "floor": 0.0,
    "draws": "family",
}
#: How a fresh draw picks its family: uniformly, or a kind of function first.
DRAWS = ("family", "kind")
#: The largest ``floor``: more would leave no room for the best kind to grow.
MAX_FLOOR = 0.5


@dataclass(frozen=True)
class EvolutionOptions:
    population: int = 16
    tournament: int = 4
    initial: tuple[str, ...] = ()
    fresh: float = 0.1
    #: Weights of the kinds of change to a grammar tree (1 each by default).
    mutations: Mapping[str, float] = field(default_factory=dict)
    #: Share of the population each kind of function keeps (:mod:`._niches`).
    floor: float = 0.0
    draws: str = "family"

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> EvolutionOptions:
        """The options of ``sampler_options``, each checked; errors say what is valid."""
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise AfsearchError(
                f"sampler 'evolution' has no option {sorted(unknown)[0]!r}; its options are "
                f"{choices(DEFAULTS)}."
            )
        merged = {**DEFAULTS, **options}
        population, tournament = merged["population"], merged["tournament"]
        if isinstance(population, bool) or not isinstance(population, int) or population < 2:
            raise AfsearchError(
                f"population of sampler 'evolution' must be an integer of at least 2, "
                f"got {population!r}."
            )
        if (
            isinstance(tournament, bool)
            or not isinstance(tournament, int)
            or not 1 <= tournament <= population
        ):
            raise AfsearchError(
                f"tournament of sampler 'evolution' must be an integer from 1 to the population "
                f"({population}), got {tournament!r}."
            )
        initial = merged["initial"]
        if isinstance(initial, str) or not isinstance(initial, Sequence):
            raise AfsearchError(
                f"initial of sampler 'evolution' must be a list of standard activations, "
                f"got {initial!r}."
            )
        bad = [name for name in initial if name not in KNOWN]
        if bad:
            raise AfsearchError(
                f"initial of sampler 'evolution' names {bad[0]!r}, which is not a standard "
                f"activation; valid names are {choices(KNOWN)}."
            )
        fresh = merged["fresh"]
        if isinstance(fresh, bool) or not isinstance(fresh, (int, float)) or not 0 <= fresh <= 1:
            raise AfsearchError(
                f"fresh of sampler 'evolution' must be a number from 0 to 1, got {fresh!r}."
            )
        mutations = merged["mutations"]
        if not isinstance(mutations, Mapping):
            raise AfsearchError(
                f"mutations of sampler 'evolution' must be a mapping of kinds of mutation to "
                f"weights, such as {{insert: 2, remove: 1}}, got {mutations!r}."
            )
        for kind, weight in mutations.items():
            if kind not in MUTATIONS:
                raise AfsearchError(
                    f"mutations of sampler 'evolution' names {kind!r}, which is not a kind of "
                    f"mutation; valid kinds are {choices(MUTATIONS)}."
                )
            if (
                isinstance(weight, bool)
                or not isinstance(weight, (int, float))
                or not 0 <= weight < float("inf")
            ):
                raise AfsearchError(
                    f"the weight of mutation {kind!r} of sampler 'evolution' must be a number "
                    f"of at least 0, got {weight!r}."
                )
        if mutations and not any(mutations.get(k, 1.0) > 0 for k in MUTATIONS):
            raise AfsearchError(
                "mutations of sampler 'evolution' weigh every kind 0; give at least one kind a "
                "positive weight."
            )
        weights = {str(k): float(v) for k, v in mutations.items()}
        floor = merged["floor"]
        if (
            isinstance(floor, bool)
            or not isinstance(floor, (int, float))
            or not 0 <= floor <= MAX_FLOOR
        ):
            raise AfsearchError(
                f"floor of sampler 'evolution' must be a share of the population from 0 to "
                f"{MAX_FLOOR}, got {floor!r}."
            )
        draws = merged["draws"]
        if draws not in DRAWS:
            raise AfsearchError(
                f"draws of sampler 'evolution' must be one of {choices(DRAWS)}, got {draws!r}."
            )
        return cls(
            population, tournament, tuple(initial), float(fresh), weights, float(floor), draws
        )
