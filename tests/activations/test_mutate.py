"""Every family mutates its own candidates (the hook ``sampler: evolution`` uses): children
build, stay in the sub-space, and differ from their parent."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from afsearch.activations import (
    build,
    get_family,
    list_families,
    mutate_family,
    parse_family_space,
    random_suggester,
    sample_family,
)
from afsearch.activations._grammar import _nodes
from afsearch.domains import Choice, FamilySpace, Range, Where

#: Sub-space entries for families whose defaults leave nothing to search.
ENTRIES: dict[str, dict[str, Any]] = {
    "standard": {"family": "standard", "name": ["relu", "gelu", "tanh", "silu"]},
    "expression": {"family": "expression", "expression": ["x", "x*tanh(x)", "sin(x)"]},
    "slaf": {"family": "slaf", "basis": ["power", "chebyshev"], "degree": {"low": 2, "high": 6}},
    "rational": {"family": "rational", "m": [3, 4, 5], "n": [2, 4]},
    "apl": {"family": "apl", "hinges": {"low": 1, "high": 4}},
    "grammar": {
        "family": "grammar",
        "depth": [1, 3],
        "unary": ["x", "tanh", "sin", "relu", "square"],
        "binary": ["add", "mul", "max", "sigmoid_mul"],
    },
    "ensemble": {
        "family": "ensemble",
        "size": [2, 3],
        "members": [
            {"family": "standard", "name": ["gelu", "tanh"]},
            {"family": "swish", "beta": {"low": 0.5, "high": 2.0}},
        ],
    },
}


def _entry(name: str) -> dict[str, Any]:
    if name in ENTRIES:
        return ENTRIES[name]
    family = get_family(name)
    entry: dict[str, Any] = {"family": name}
    for p in family.params:
        lo = p.low if math.isfinite(p.low) else p.default - 1.0
        hi = p.high if math.isfinite(p.high) else p.default + 1.0
        lo, hi = max(lo, p.default - 1.0), min(hi, p.default + 1.0)
        if p.log:
            lo = max(lo, p.default / 4)
        entry[p.name] = {"low": lo, "high": hi, "log": p.log}
    return entry


def _within(space: FamilySpace, config: dict[str, Any]) -> None:
    for key, v in space.values.items():
        if isinstance(v, Range):
            assert v.low - 1e-12 <= config[key] <= v.high + 1e-12, (key, config[key], v)
            if v.integer:
                assert isinstance(config[key], int), (key, config[key])
        elif isinstance(v, Choice) and key in config:
            assert config[key] in v.options, (key, config[key])


@pytest.mark.parametrize("family", [f.name for f in list_families()])
def test_children_build_stay_in_the_space_and_differ(family: str) -> None:
    space = parse_family_space(_entry(family), Where("test.yaml"))
    rng = random.Random(0)
    parent = sample_family(space, random_suggester(rng), space.label)
    changed = 0
    for _ in range(25):
        child = mutate_family(parent, space, rng)
        build(child)
        if family not in ("grammar", "ensemble"):
            _within(space, child)
        changed += child != parent
        parent = child
    assert changed >= 20, f"{family}: only {changed} of 25 mutations changed the config"


def test_grammar_mutations_grow_and_shrink_trees_on_both_sides_within_the_depth() -> None:
    space = parse_family_space(ENTRIES["grammar"], Where("test.yaml"))
    rng = random.Random(1)
    config = {"family": "grammar", "unit": {"binary": "mul", "left": "x", "right": "tanh"}}
    deepest, right_subtrees, shrunk = 1, 0, 0
    for _ in range(300):
        child = mutate_family(config, space, rng)
        build(child)
        units, _slots = _nodes(child["unit"])
        levels = [level for _, level in units]
        assert max(levels) <= 3, child
        deepest = max(deepest, max(levels))
        right_subtrees += any(isinstance(u.get("right"), dict) for u, _ in units)
        shrunk += len(units) < len(_nodes(config["unit"])[0])
        config = child
    assert deepest == 3 and right_subtrees > 0 and shrunk > 0
