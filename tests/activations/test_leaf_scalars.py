"""PANGAEA's learnable a*f(b*x) scalars on grammar operands, and weighted kinds of mutation."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch

from afsearch.activations import MUTATIONS, build, get_family, parse_family_space
from afsearch.activations._grammar import _nodes
from afsearch.compiler import CompiledActivation
from afsearch.domains import Where
from afsearch.exceptions import AfsearchError
from afsearch.search import EvolutionOptions
from afsearch.space import parse_space

UNIT = {
    "binary": "add",
    "left": "tanh",
    "right": {"unary": "sigmoid", "of": {"binary": "mul", "left": "x", "right": "sin"}},
}


def test_each_operand_gets_two_trained_scalars_starting_at_one() -> None:
    plain = build({"family": "grammar", "unit": UNIT})
    scaled = build({"family": "grammar", "unit": UNIT, "leaf_scalars": True})
    assert plain.params == {}
    names = sorted(scaled.params)
    assert names == ["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3"]  # four unary operands
    assert all(p.value == 1.0 and p.trainable for p in scaled.params.values())
    # At initialisation the function is the one without scalars, and they are parameters.
    x = torch.linspace(-3, 3, 13)
    module = CompiledActivation(scaled)
    assert torch.allclose(module(x), CompiledActivation(plain)(x), atol=1e-6)
    assert sum(p.numel() for p in module.parameters()) == 8
    module(x).sum().backward()
    assert all(p.grad is not None for p in module.parameters())


def test_leaf_scalars_are_searched_as_a_value_and_refused_when_not_a_bool() -> None:
    raw = {
        "task": {"name": "digits-mlp"},
        "sampler": "random",
        "families": [
            {
                "family": "grammar",
                "unary": ["x", "tanh"],
                "binary": ["add"],
                "leaf_scalars": [False, True],
            }
        ],
    }
    space = parse_space(raw, "s.yaml")
    from afsearch.activations import random_suggester, sample_family

    seen = {
        sample_family(space.families[0], random_suggester(random.Random(i)), "g")["leaf_scalars"]
        for i in range(20)
    }
    assert seen == {False, True}
    with pytest.raises(
        AfsearchError, match="'leaf_scalars' of family 'grammar' must be true or false, got 'yes'"
    ):
        build({"family": "grammar", "unit": UNIT, "leaf_scalars": "yes"})


def _kinds(weights: dict[str, float] | None) -> Counter[str]:
    """Which kind of change each of 400 mutations of a depth-1 tree made."""
    space = parse_family_space(
        {
            "family": "grammar",
            "depth": [1, 3],
            "unary": ["x", "tanh", "sin"],
            "binary": ["add", "mul"],
        },
        Where("t.yaml"),
    )
    grammar = get_family("grammar")
    rng = random.Random(0)
    parent = {"family": "grammar", "unit": {"binary": "add", "left": "x", "right": "tanh"}}
    seen: Counter[str] = Counter()
    for _ in range(400):
        child = grammar.mutate(parent, space, rng, weights=weights)
        units, _ = _nodes(child["unit"])
        before = parent["unit"]
        if len(units) > 1:
            seen["deeper"] += 1
        elif child["unit"]["binary"] != before["binary"]:
            seen["binary"] += 1
        else:
            seen["same depth"] += 1
    return seen


def test_mutation_weights_steer_the_kinds_of_change() -> None:
    equal = _kinds(None)
    only_insert = _kinds({"insert": 1.0, "binary": 0, "unary": 0, "replace": 0, "remove": 0})
    assert only_insert["deeper"] == 400  # every child grew a node
    assert 0 < equal["deeper"] < 300 and equal["binary"] > 50
    assert set(MUTATIONS) == {"binary", "unary", "insert", "remove", "replace"}


def test_evolution_passes_its_weights_to_grammar_trees() -> None:
    from afsearch.search import Evolution, Scored

    space = parse_family_space(
        {"family": "grammar", "depth": [1, 3], "unary": ["x", "tanh"], "binary": ["add", "mul"]},
        Where("t.yaml"),
    )
    options = EvolutionOptions.parse(
        {
            "population": 2,
            "tournament": 1,
            "fresh": 0,
            "mutations": {"insert": 1, "binary": 0, "unary": 0, "replace": 0},
        }
    )
    parent = {"family": "grammar", "unit": {"binary": "add", "left": "x", "right": "tanh"}}
    history = [Scored(parent, 1.0), Scored(parent, 0.5)]
    evo = Evolution([space], options)
    for seed in range(10):
        child = evo.propose(random.Random(seed), 5, history)
        assert len(_nodes(child["unit"])[0]) == 2, child


def _grown_members(mutations: dict[str, float]) -> int:
    """Of 40 children of a two-member ensemble of depth-1 trees, how many have a member that
    grew to exactly two units."""
    from afsearch.search import Evolution, Scored

    space = parse_family_space(
        {
            "family": "ensemble",
            "members": [
                {"family": "grammar", "depth": [1, 3], "unary": ["x", "tanh"], "binary": ["add"]}
            ],
            "size": [2],
        },
        Where("t.yaml"),
    )
    options = EvolutionOptions.parse(
        {"population": 2, "tournament": 1, "fresh": 0, "mutations": mutations}
    )
    tree = {"family": "grammar", "unit": {"binary": "add", "left": "x", "right": "tanh"}}
    parent = {"family": "ensemble", "members": [tree, tree]}
    history = [Scored(parent, 1.0), Scored(parent, 0.5)]
    evo = Evolution([space], options)
    grown = 0
    for seed in range(40):
        child = evo.propose(random.Random(seed), 5, history)
        grown += sorted(len(_nodes(m["unit"])[0]) for m in child["members"]) == [1, 2]
    return grown


def test_evolution_passes_its_weights_to_grammar_members_of_ensembles() -> None:
    # A member is mutated 7 times in 10 (redrawn otherwise): with only inserts weighed, those
    # all grow a node; with equal weights one change in four or five is an insert.
    only_insert = _grown_members({"insert": 1, "binary": 0, "unary": 0, "replace": 0})
    equal = _grown_members({})
    assert only_insert >= 24, only_insert
    assert equal <= 16, equal
