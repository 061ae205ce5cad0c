"""``prescreen:``: candidates that cannot train are filtered with their reason, the pool holds
distinct functions, anchors go first, and the surrogate proposes near what scored best."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from afsearch.exceptions import AfsearchError
from afsearch.search import Scored
from afsearch.search._prescreen import (
    CONSTANT,
    EXPLODES,
    NOT_BUILT,
    NOT_FINITE,
    Prescreen,
    PrescreenPool,
    features,
)
from afsearch.space import PrescreenOptions, parse_space
from tests.helpers import checked_space


def _space(**prescreen: object) -> dict:
    return {
        "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 8}},
        "sampler": "random",
        "scheduler": "none",
        "num_samples": 6,
        "prescreen": prescreen or True,
        "families": [{"family": "swish", "beta": {"low": 0.1, "high": 8.0, "log": True}}],
    }


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("exp(exp(exp(exp(exp(x)))))", EXPLODES),
        ("log(x)", NOT_FINITE),
        ("x - x", CONSTANT),
        ("1/(x*0)", NOT_BUILT),
    ],
)
def test_candidates_that_cannot_train_are_filtered_with_their_reason(
    expression: str, reason: str
) -> None:
    assert features({"family": "expression", "expression": expression}) == reason


def test_equal_functions_have_equal_features_and_the_pool_holds_each_once() -> None:
    swish = features({"family": "swish", "beta": 1.0})
    silu = features({"family": "standard", "name": "silu"})
    assert isinstance(swish, np.ndarray) and np.allclose(swish, silu)
    space = parse_space(
        {**_space(), "families": [{"family": "standard", "name": ["relu", "gelu", "tanh"]}]},
        source="s.yaml",
    )
    pool = PrescreenPool.draw(space, 10, random.Random(0))
    assert len(pool.configs) == 3  # three functions, however many draws
    assert pool.summary()["pool"] == 3 and pool.draws == 40


def test_anchors_first_then_random_then_the_surrogate_near_the_best() -> None:
    space = parse_space(_space(pool=200, anchors=["relu"], kappa=0.0), source="s.yaml")
    screen = Prescreen(space, seed=0)
    assert screen.propose([], []) == {"family": "standard", "name": "relu"}
    tried = [{"family": "standard", "name": "relu"}]
    first = screen.propose(tried, [])
    assert first["family"] == "swish"  # too few scores for a model: a random pool entry
    # Scores that grow with beta: the model should propose a large beta next.
    scored = [Scored({"family": "swish", "beta": b}, float(np.log(b))) for b in (0.2, 1.0, 4.0)]
    pick = screen.propose([*tried, *(s.activation for s in scored)], scored)
    assert pick["beta"] > 3.0, pick


@pytest.mark.parametrize(
    ("prescreen", "words"),
    [
        ({"pool": 5}, ["pool", "10 to 200000"]),
        ({"anchors": ["relu", "gleu"]}, ["'gleu'", "not a standard activation"]),
        ({"acquisition": "pi"}, ["acquisition", "'ei' or 'ucb'"]),
        ({"features": ["fisher"]}, ["features", "'outputs'"]),
        ({"pols": 3}, ["no option 'pols'"]),
    ],
)
def test_bad_prescreen_options_are_refused(prescreen: dict, words: list[str]) -> None:
    with pytest.raises(AfsearchError) as info:
        checked_space(_space(**prescreen), source="s.yaml")
    assert str(info.value).startswith("s.yaml: prescreen: ")
    for word in words:
        assert word in str(info.value)
    with pytest.raises(AfsearchError, match="nothing to prescreen"):
        checked_space({**_space(), "sampler": "grid", "families": [{"family": "elu"}]}, "s.yaml")
    assert PrescreenOptions.parse(True) == PrescreenOptions()


@pytest.mark.slow
def test_a_prescreened_launch_trains_anchors_first_and_records_its_pool(
    ray_local, tmp_path: Path
) -> None:
    from afsearch.orchestrator import launch
    from afsearch.store import get_study, trials

    data = {
        **_space(pool=40, anchors=["relu", "tanh"]),
        "families": [
            {
                "family": "grammar",
                "unary": ["x", "neg", "tanh", "exp", "sin", "relu"],
                "binary": ["add", "mul", "sub", "max"],
            }
        ],
        "num_samples": 5,
    }
    space = tmp_path / "p.yaml"
    space.write_text(yaml.safe_dump(data))
    url = f"sqlite:///{tmp_path / 'p.db'}"
    result = launch(space, study="pre", url=url, runs_dir=tmp_path / "runs")
    assert result.status == "completed"
    rows = sorted(trials("pre", url), key=lambda t: t.number)
    assert len(rows) == 5
    assert [r.config["activation"] for r in rows[:2]] == [
        {"family": "standard", "name": "relu"},
        {"family": "standard", "name": "tanh"},
    ]
    summary = get_study("pre", url).prescreen
    assert summary["pool"] == 40 and summary["draws"] >= 40
    assert sum(summary["filtered"].values()) > 0  # sub(x, x) and the like
