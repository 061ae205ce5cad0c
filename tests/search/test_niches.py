"""Evolution's ``floor``: each kind of function of the space keeps members among the recent
trials, a space of one kind still converges, and ``draws: kind`` balances fresh draws."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from afsearch.activations import kind_of, parse_family_space
from afsearch.domains import Where
from afsearch.exceptions import AfsearchError
from afsearch.search import Evolution, EvolutionOptions, History, Scored, make_strategy
from afsearch.search._niches import floor_count, short_kind, space_kinds
from afsearch.space import parse_space

SWISH = {"family": "swish", "beta": {"low": 0.5, "high": 4.0, "log": True}}
GRAMMAR = {"family": "grammar", "depth": 1, "unary": ["x", "tanh", "sin"], "binary": ["add"]}
RATIONAL = {"family": "rational", "init": ["gelu"]}
PARAMETRIC = ["swish", "elu", "gelu", "mish", "softplus", "prelu", "selu", "ulu"]


def family_spaces(*entries: Mapping[str, Any]) -> list[Any]:
    return [parse_family_space(dict(e), Where("t.yaml")) for e in entries]


def swish_wins(config: Mapping[str, Any]) -> float:
    """A landscape on which Swish near beta 3 beats every other function by far."""
    if config.get("family") == "swish":
        return 10.0 - (float(config["beta"]) - 3.0) ** 2
    return 0.0


def evolve(evo: Evolution, score: Callable[[Mapping[str, Any]], float], n: int) -> list[dict]:
    """``n`` trials of a sequential evolution on ``score``; every trial's config, in order."""
    tried: list[dict[str, Any]] = []
    scored: list[Scored] = []
    for number in range(n):
        config = evo.propose(random.Random(number), number, scored, tried)
        tried.append(config)
        scored.append(Scored(config, score(config)))
    return tried


def test_the_kind_furthest_below_the_floor_comes_first_then_the_one_seen_longest_ago() -> None:
    kinds = ["parametric", "grammar", "rational"]
    swish, tree, pau = ({"family": f} for f in ("swish", "grammar", "rational"))
    assert short_kind([swish, swish, tree, pau], kinds, 1) is None
    assert short_kind([swish, swish, tree], kinds, 1) == "rational"
    assert short_kind([tree, pau, swish, swish], kinds, 2) == "grammar"  # seen before rational
    assert short_kind([pau, tree, swish, swish], kinds, 2) == "rational"
    assert short_kind([swish] * 4, ["parametric"], 3) is None  # one kind: nothing to keep alive
    assert floor_count(0.0, 16) == 0
    assert floor_count(0.05, 16) == 1
    assert floor_count(0.125, 16) == 2


def test_kinds_of_the_families() -> None:
    spaces = family_spaces(SWISH, {"family": "elu"}, GRAMMAR, RATIONAL, {"family": "slaf"})
    assert space_kinds(spaces) == ["parametric", "grammar", "rational", "series"]
    assert kind_of({"family": "standard", "name": "relu"}) == "named"
    assert kind_of({"family": "per_site", "sites": []}) == "per_site"


@pytest.mark.parametrize("floor", [0.0, 0.125])
def test_the_floor_keeps_each_kind_among_the_recent_trials(floor: float) -> None:
    options = EvolutionOptions(population=16, tournament=4, fresh=0.1, floor=floor)
    tried = evolve(Evolution(family_spaces(SWISH, GRAMMAR, RATIONAL), options), swish_wins, 240)
    windows = [tried[i - 16 : i] for i in range(32, len(tried) + 1)]
    fewest = {
        kind: min(sum(kind_of(c) == kind for c in w) for w in windows)
        for kind in ("grammar", "rational")
    }
    if floor:
        assert fewest == {"grammar": 2, "rational": 2}
    else:  # without a floor the population collapses onto Swish
        assert fewest["grammar"] < 2 or fewest["rational"] < 2, fewest
    # Either way the best kind takes the rest and converges near its optimum.
    last = [c["beta"] for c in tried[-48:] if c["family"] == "swish"]
    assert len(last) >= 30
    assert sorted(last)[len(last) // 2] == pytest.approx(3.0, abs=0.5)


def test_a_space_of_one_kind_evolves_as_without_a_floor() -> None:
    spaces = family_spaces(SWISH, {"family": "elu", "alpha": {"low": 0.1, "high": 3.0}})
    plain = Evolution(spaces, EvolutionOptions(population=8, tournament=3))
    floored = Evolution(spaces, EvolutionOptions(population=8, tournament=3, floor=0.5))
    assert evolve(floored, swish_wins, 80) == evolve(plain, swish_wins, 80)


def test_a_short_kind_with_no_member_yet_is_drawn_fresh() -> None:
    evo = Evolution(
        family_spaces(SWISH, GRAMMAR), EvolutionOptions(population=4, tournament=2, floor=0.25)
    )
    history = [Scored({"family": "swish", "beta": 1.0}, 1.0)] * 4
    tried = [s.activation for s in history]
    child = evo.propose(random.Random(0), 4, history, tried)
    assert child["family"] == "grammar"


def test_draws_by_kind_balance_a_space_of_many_parametric_families() -> None:
    spaces = family_spaces(*({"family": f} for f in PARAMETRIC), GRAMMAR)
    counts = {}
    for draws in ("family", "kind"):
        evo = Evolution(spaces, EvolutionOptions(draws=draws))
        rng = random.Random(1)
        counts[draws] = Counter(kind_of(evo.draw(rng)) for _ in range(600))
    assert counts["family"]["grammar"] < 120  # one family in nine
    assert 240 < counts["kind"]["grammar"] < 360  # one kind in two


def test_every_alternative_the_prescreen_ranks_is_of_the_short_kind() -> None:
    space = parse_space(
        {
            "name": "n",
            "task": "digits-mlp",
            "sampler": "evolution",
            "sampler_options": {"population": 4, "tournament": 2, "floor": 0.25},
            "families": [SWISH, GRAMMAR],
        }
    )
    strategy = make_strategy(space, seed=0)
    swish = {"family": "swish", "beta": 2.0}
    history = History(number=6, started=6, scored=[Scored(swish, 1.0)] * 6, tried=[swish] * 6)
    options = strategy.proposals(None, history, 8)
    assert {p.activation["family"] for p in options} == {"grammar"}


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"floor": 0.8}, ["floor", "from 0 to 0.5", "0.8"]),
        ({"floor": "some"}, ["floor", "share of the population", "'some'"]),
        ({"draws": "niche"}, ["draws", "'family'", "'kind'", "'niche'"]),
    ],
)
def test_bad_floor_or_draws_are_refused_in_one_sentence(options: dict, words: list[str]) -> None:
    with pytest.raises(AfsearchError) as info:
        EvolutionOptions.parse(options)
    for word in words:
        assert word in str(info.value)


def prescreen_space(sampler: str, floor: float) -> Any:
    return parse_space(
        {
            "name": "p",
            "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 8}},
            "sampler": sampler,
            # kappa 0: the acquisition is the surrogate's mean, no bonus for the unexplored
            "prescreen": {"anchors": [], "pool": 200, "floor": floor, "kappa": 0},
            "families": [SWISH, GRAMMAR],
        }
    )


def swish_history(n: int) -> tuple[list[dict], list[Scored]]:
    """``n`` trials of Swish, the better the nearer beta is to 3."""
    tried = [{"family": "swish", "beta": 0.5 + 3.0 * k / n} for k in range(n)]
    return tried, [Scored(c, swish_wins(c)) for c in tried]


@pytest.mark.parametrize("floor", [0.0, 0.125])
def test_the_prescreen_chooses_from_the_pool_within_the_short_kind(floor: float) -> None:
    from afsearch.search._prescreen import Prescreen

    prescreen = Prescreen(prescreen_space("random", floor), seed=0)
    tried, scored = swish_history(16)
    choice = prescreen.propose(tried, scored)
    # The surrogate favours Swish near the best; the floor asks for a tree.
    assert choice["family"] == ("grammar" if floor else "swish")


def test_the_prescreen_ranks_the_short_kind_first_when_a_proposal_is_of_it() -> None:
    from afsearch.search._prescreen import Prescreen

    prescreen = Prescreen(prescreen_space("tpe", 0.125), seed=0)
    tried, scored = swish_history(16)
    near_best = {"family": "swish", "beta": 2.9}
    tree = {"family": "grammar", "unit": {"binary": "add", "left": "x", "right": "sin"}}
    assert prescreen.rank([near_best, tree], tried, scored) == 1
    # With no proposal of that kind, the best of those proposed.
    assert prescreen.rank([{"family": "swish", "beta": 0.6}, near_best], tried, scored) == 1
    # Enough trees among the recent trials: the surrogate decides.
    recent = [*tried[-14:], tree, {**tree, "unit": {**tree["unit"], "right": "tanh"}}]
    assert prescreen.rank([near_best, tree], recent, scored) == 0


def test_a_bad_prescreen_floor_is_refused_in_one_sentence() -> None:
    with pytest.raises(AfsearchError, match="floor of prescreen must be a share .* got 0.9"):
        prescreen_space("random", 0.9)
