"""Per-site trials off Ray: evolution changes one site at a time, fresh-seed training gives
each site its own candidate, the learned values are named by site."""

from __future__ import annotations

import random

import pytest

from afsearch.activations import build_activation, per_site_config
from afsearch.compiler import CompiledActivation
from afsearch.confirm import train_seed
from afsearch.domains import Choice, FamilySpace, Range
from afsearch.expr import SiteCandidates
from afsearch.orchestrator._trainable import _learned
from afsearch.search import Evolution, EvolutionOptions, Scored, SiteEvolution
from afsearch.tasks import TaskSettings

FAMILIES = [
    FamilySpace("swish", "swish", {"beta": Range(0.5, 2.0)}),
    FamilySpace("standard", "standard", {"name": Choice(("relu", "gelu", "tanh"))}),
]


def _evolution(**options) -> SiteEvolution:
    opts = EvolutionOptions.parse({"population": 4, "tournament": 2, "fresh": 0.0, **options})
    return SiteEvolution(Evolution(FAMILIES, opts), sites=3)


def test_initial_activations_stand_at_every_site():
    evo = _evolution(initial=["relu", "gelu"])
    first = evo.propose(random.Random(0), 0, [])
    assert first["sites"] == [{"family": "standard", "name": "relu"}] * 3
    assert evo.propose(random.Random(0), 1, [])["sites"][2]["name"] == "gelu"


def test_until_the_population_is_full_every_site_is_drawn():
    proposal = _evolution().propose(random.Random(1), 0, [])
    assert proposal["family"] == "per_site" and len(proposal["sites"]) == 3
    assert all(s["family"] in ("swish", "standard") for s in proposal["sites"])


def test_a_child_differs_from_its_parent_at_one_site():
    evo = _evolution()
    rng = random.Random(2)
    parents = [evo.propose(rng, 0, []) for _ in range(4)]
    history = [Scored(p, float(i)) for i, p in enumerate(parents)]
    for seed in range(20):
        child = evo.propose(random.Random(seed), 10, history)
        diffs = min(
            sum(a != b for a, b in zip(child["sites"], p["sites"], strict=True)) for p in parents
        )
        assert diffs == 1, child


def test_learned_values_are_named_by_site():
    built = build_activation(
        per_site_config(
            [{"family": "swish", "trainable": True}, {"family": "prelu", "trainable": True}]
        )
    )
    assert isinstance(built, SiteCandidates)
    modules = [CompiledActivation(c) for c in built.sites]
    learned = _learned(modules, per_site=True)
    assert learned["mean"] == {"site0.beta": 1.0, "site1.a": pytest.approx(0.25)}


def test_fresh_seed_training_gives_each_site_its_candidate():
    config = per_site_config(
        [{"family": "standard", "name": "tanh"}, {"family": "swish", "trainable": True}]
    )
    settings = TaskSettings(epochs=1, batch_size=64, options={"width": 8, "depth": 2})
    run = train_seed(config, "digits-mlp", 0, settings=settings)
    assert run.metric is not None and not run.diverged
    # Site 0's candidate at every site trains to another metric: site 1 had its own.
    tanh = per_site_config([{"family": "standard", "name": "tanh"}] * 2)
    assert train_seed(tanh, "digits-mlp", 0, settings=settings).metric != run.metric
    assert train_seed(config, "digits-mlp", 0, settings=settings).metric == run.metric


def test_a_network_with_more_sites_than_counted_gets_a_sentence():
    from afsearch.exceptions import AfsearchError
    from afsearch.tasks import ActivationFactory

    built = build_activation(per_site_config([{"family": "standard", "name": "tanh"}] * 2))
    assert isinstance(built, SiteCandidates)
    make = ActivationFactory(built, ["a", "b"]).maker()
    make()
    assert make(4).candidate.text == "tanh(x)"
    with pytest.raises(AfsearchError, match="asked for activation site 3, and this per-site"):
        make()


def test_fresh_is_rolled_once_per_child_not_again_at_its_site():
    # A parent with tanh at every site, in a space of relu and tanh: a mutation of a site
    # always gives relu, so a child equal to its parent can only be a whole fresh draw (half
    # the children, each equal with chance 1/16). Rolling fresh again at the mutated site
    # would redraw it instead of mutating it, tanh again half the time.
    opts = EvolutionOptions.parse({"population": 2, "tournament": 1, "fresh": 0.5})
    two = FamilySpace("standard", "standard", {"name": Choice(("relu", "tanh"))})
    evo = SiteEvolution(Evolution([two], opts), sites=4)
    parent = per_site_config([{"family": "standard", "name": "tanh"}] * 4)
    history = [Scored(parent, 1.0)] * 2
    children = [evo.propose(random.Random(seed), 10, history) for seed in range(400)]
    same = sum(child == parent for child in children)
    one_site = sum(
        sum(a != b for a, b in zip(child["sites"], parent["sites"], strict=True)) == 1
        for child in children
    )
    assert same < 30, same  # about 12 expected; about 62 with fresh rolled twice
    assert one_site > 200, one_site
