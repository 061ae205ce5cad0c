"""The prescreen's signal at initialisation (``features: [outputs, init]``) and the prescreen
ranking the proposals of TPE, CMA-ES and evolution."""

from __future__ import annotations

import random
from typing import Any

import optuna
import pytest
import torch
from torch import nn

from afsearch.exceptions import AfsearchError
from afsearch.orchestrator._proposer import TrialProposer
from afsearch.search import Draft, Scored, make_strategy
from afsearch.search._init_signal import (
    GRADS_EXPLODE,
    GRADS_NOT_FINITE,
    GRADS_VANISH,
    KEPT,
    SIGNALS,
    InitProbe,
)
from afsearch.search._optuna_seams import fix_params as commit
from afsearch.search._prescreen import Prescreen
from afsearch.space import parse_space, sample_config
from afsearch.tasks import BaseTask, TaskData, get_task
from afsearch.trial.attrs import EVOLVED

optuna.logging.set_verbosity(optuna.logging.WARNING)

GRAMMAR = {
    "family": "grammar",
    "unary": ["x", "neg", "tanh", "sigmoid", "relu", "sin"],
    "binary": ["add", "mul", "max"],
}
SWISH = {"family": "swish", "beta": {"low": 0.1, "high": 8.0, "log": True}}


class BrokenTask(BaseTask):
    """A task whose network cannot be built."""

    name = "broken"
    description = "a network that raises"
    metric = "val_accuracy"
    mode = "max"

    def build_data(self, seed: int) -> TaskData:
        x, y = torch.zeros(8, 2), torch.zeros(8, dtype=torch.long)
        return TaskData(x, y, x, y, x, y)

    def build_model(self, make_activation: Any) -> nn.Module:
        raise RuntimeError("no such layer")


def _space(sampler: str = "tpe", **prescreen: Any) -> Any:
    raw: dict[str, Any] = {
        "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 8}},
        "sampler": sampler,
        "scheduler": "none",
        "num_samples": 6,
        "prescreen": {"anchors": [], **prescreen},
        "families": [dict(GRAMMAR), dict(SWISH)],
    }
    if sampler == "evolution":
        raw["sampler_options"] = {"population": 4, "tournament": 2}
    return parse_space(raw, "s.yaml")


@pytest.fixture(scope="module")
def deep_probe() -> InitProbe:
    settings = get_task("digits-mlp").make_settings(options={"depth": 6, "width": 16})
    return InitProbe("digits-mlp", settings)


def test_every_signal_is_measured_for_a_sane_activation(deep_probe: InitProbe) -> None:
    got = deep_probe.measure({"family": "standard", "name": "tanh"})
    assert not isinstance(got, str)
    assert set(got) == set(SIGNALS)
    assert len(got["grad_norm"]) == 7  # one per weight layer
    assert len(got["fisher"]) == len(got["ntk"]) == 16
    start, after, drop = got["loss_after"]
    assert after < start and drop < 0  # a few steps of Adam lower the loss


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("0.05*x", GRADS_VANISH),  # shrinks the gradient 20-fold at each of six layers
        ("20*x", GRADS_EXPLODE),
        ("exp(exp(x))", GRADS_NOT_FINITE),
    ],
)
def test_networks_whose_gradients_vanish_or_explode_are_refused_with_the_reason(
    deep_probe: InitProbe, expression: str, reason: str
) -> None:
    assert deep_probe.measure({"family": "expression", "expression": expression}) == reason
    assert not isinstance(deep_probe.measure({"family": "expression", "expression": "x"}), str)


def test_a_task_whose_network_cannot_be_built_is_refused_in_one_sentence() -> None:
    with pytest.raises(AfsearchError, match="could not be built.*RuntimeError: no such layer"):
        InitProbe(f"{__name__}:BrokenTask", None)
    raw = {
        "task": {"name": f"{__name__}:BrokenTask"},
        "sampler": "tpe",
        "prescreen": True,
        "families": [dict(SWISH)],
    }
    with pytest.raises(AfsearchError, match="prescreen.*could not be built"):
        parse_space(raw, "s.yaml")


@pytest.mark.parametrize(
    ("prescreen", "words"),
    [
        ({"features": ["init"]}, "must list 'outputs'"),
        ({"features": ["outputs", "ntk"]}, "may add 'init'"),
        ({"proposals": 1}, "proposals of prescreen must be an integer from 2 to 256"),
        ({"proposals": True}, "proposals of prescreen"),
    ],
)
def test_bad_features_and_proposals_are_refused(prescreen: dict, words: str) -> None:
    with pytest.raises(AfsearchError, match=words):
        _space(**prescreen)


def test_a_pool_larger_than_a_countable_space_is_refused() -> None:
    raw = {
        "task": {"name": "digits-mlp"},
        "sampler": "random",
        "prescreen": {"pool": 50},
        "families": [{"family": "standard", "name": ["relu", "tanh", "gelu"]}],
    }
    with pytest.raises(AfsearchError, match="pool of prescreen is 50, larger than the space.*3"):
        parse_space(raw, "s.yaml")
    raw["prescreen"] = {"pool": 10}
    parse_space({**raw, "families": [dict(SWISH)]}, "s.yaml")  # a range: no count


def _scored() -> list[Scored]:
    return [
        Scored({"family": "standard", "name": "relu"}, 0.9),
        Scored({"family": "standard", "name": "silu"}, 0.91),
        Scored({"family": "standard", "name": "sigmoid"}, 0.3),
        Scored({"family": "standard", "name": "tanh"}, 0.8),
    ]


@pytest.mark.parametrize("features", [["outputs"], ["outputs", "init"]])
def test_rank_picks_the_proposal_near_the_best_and_passes_over_what_cannot_train(
    features: list[str],
) -> None:
    prescreen = Prescreen(_space(features=features), seed=0)
    scored = _scored()
    proposals = [
        {"family": "expression", "expression": "exp(exp(exp(exp(exp(x)))))"},  # filtered
        {"family": "standard", "name": "sigmoid"},  # tried
        {"family": "expression", "expression": "sigmoid(x) + 0.01"},
        {"family": "swish", "beta": 1.05},  # nearly silu, the best
    ]
    tried = [s.activation for s in scored]
    assert prescreen.rank(proposals, tried, scored) == 3
    assert prescreen.ranked == 4
    summary = prescreen.summary()
    assert summary["draws"] == 4
    # Before two trials have a value, the sampler's own first proposal that can train.
    assert prescreen.rank(proposals, [], []) == 1
    # Anchors go first.
    anchored = Prescreen(_space(anchors=["relu", "gelu"]), seed=0)
    assert anchored.anchor(tried) == {"family": "standard", "name": "gelu"}
    assert anchored.anchor([*tried, {"family": "standard", "name": "gelu"}]) is None


def test_init_features_count_their_filter_in_the_summary() -> None:
    prescreen = Prescreen(_space(features=["outputs", "init"]), seed=0)
    assert prescreen.uses_init
    sane = prescreen.vector({"family": "standard", "name": "relu"}, count=True)
    assert not isinstance(sane, str)
    assert len(sane) == 128 + 16  # outputs and slopes at 64 points, then the NTK spectrum
    assert KEPT == "ntk"
    huge = {"family": "expression", "expression": "1000*x"}
    assert prescreen.vector(huge, count=True) == GRADS_EXPLODE
    assert prescreen.summary()["filtered"] == {GRADS_EXPLODE: 1}


@pytest.mark.parametrize("sampler", ["tpe", "random", "cmaes"])
def test_drafts_draw_from_the_sampler_and_commit_fixes_the_trial(sampler: str) -> None:
    space = _space(sampler)
    study = optuna.create_study(direction="maximize", sampler=make_strategy(space, 0).sampler(0))
    # Seeded values: with some value sequences (2 in 30) TPE's six drafts all agree.
    values = random.Random(0)
    for _ in range(12):  # past TPE's random start-up
        trial = study.ask()
        sample_config(trial, space)
        study.tell(trial, values.random())
    trial = study.ask()
    drafts = [Draft(trial) for _ in range(6)]
    proposed = [sample_config(d, space)[0] for d in drafts]
    assert len({str(p) for p in proposed}) > 1  # several distinct proposals
    assert study.trials[-1].params == {}  # nothing recorded by drafting
    commit(trial, drafts[4].params)
    assert sample_config(trial, space)[0] == proposed[4]
    assert study.trials[-1].params == drafts[4].params


@pytest.mark.parametrize("sampler", ["tpe", "cmaes", "evolution"])
def test_the_proposer_asks_for_proposals_and_trains_the_one_the_prescreen_ranks(
    sampler: str,
) -> None:
    space = _space(sampler, anchors=["relu"], proposals=4)
    proposer = TrialProposer(space, "sqlite://", seed=0, cpus_per_trial=1)
    study = optuna.create_study(direction="maximize", sampler=make_strategy(space, 0).sampler(0))
    activations = []
    values = random.Random(0)
    for _ in range(4):
        trial = study.ask()
        spec = proposer(trial)["afsearch"]
        activations.append(spec["activation"])
        study.tell(trial, values.random())
    assert activations[0] == {"family": "standard", "name": "relu"}
    assert study.trials[0].user_attrs[EVOLVED] == activations[0]
    assert proposer.strategy.prescreen.ranked == 12  # type: ignore[attr-defined]
    if sampler != "evolution":  # the sampler's trial holds the chosen proposal's values
        later = study.trials[1]
        assert sample_config(optuna.trial.FixedTrial(later.params), space)[0] == activations[1]
