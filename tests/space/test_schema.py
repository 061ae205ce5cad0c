"""Search spaces: every shipped file validates, bad files say where and what."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from afsearch.activations import build
from afsearch.exceptions import AfsearchError
from afsearch.space import grid_configs, load_space, parse_space, sample_config, task_settings
from tests.helpers import checked_space

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "search_spaces").glob("*.yaml"))


def test_the_required_spaces_ship() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"quickstart", "slaf", "parametric", "ensemble", "grammar", "combined"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_spaces_validate_and_sample(path: Path) -> None:
    space = load_space(path)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    for _ in range(15):
        trial = study.ask()
        activation, task_values = sample_config(trial, space)
        build(activation)
        task_settings(space, task_values)
        study.tell(trial, 0.5)


def _space(**overrides: object) -> dict:
    data: dict = {
        "task": {"name": "digits-mlp", "epochs": 2},
        "families": [{"family": "swish", "beta": {"low": 0.5, "high": 2.0}}],
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([1, 2], "must be a mapping at the top level"),
        (_space(bogus=1), "bogus: unknown key"),
        (
            _space(sampler="bayes"),
            "sampler: must be 'cmaes', 'evolution', 'grid', 'nsga2', 'random' or 'tpe'",
        ),
        (_space(families=[]), "families: must be a non-empty list"),
        (_space(families=[{"family": "swishy"}]), "families[0].family: Unknown family 'swishy'"),
        (
            _space(families=[{"family": "swish", "beta": {"low": 3, "high": 1}}]),
            "families[0].beta: low must not exceed high",
        ),
        (
            _space(families=[{"family": "swish", "beta": {"low": -1, "high": 1, "log": True}}]),
            "a log range needs low > 0",
        ),
        (
            _space(families=[{"family": "swish", "beta": {"low": 0.5, "high": 1e6}}]),
            "families[0]: Parameter 'beta' of family 'swish' must lie in",
        ),
        (
            _space(families=[{"family": "slaf", "degree": {"low": 2, "high": 40}}]),
            "families[0]: SLAF 'degree'",
        ),
        (
            _space(families=[{"family": "grammar", "unary": ["x", "nope"]}]),
            "families[0].unary: unknown operator 'nope'",
        ),
        (_space(task={"name": "no-such-task"}), "task.name: Unknown task"),
        (_space(task={"name": "digits-mlp", "epochs": 0}), "task: epochs must be"),
        (_space(task={"name": "digits-mlp", "colour": 1}), "task.colour: unknown key"),
        (_space(seeds=0), "seeds: must be an integer from 1 to 20"),
        (_space(checkpoint_every=-1), "checkpoint_every: must be an integer from 0"),
        (_space(checkpoint_every=1.5), "checkpoint_every: must be an integer from 0"),
        (_space(checkpoint_min_seconds=-5), "checkpoint_min_seconds: must be a number of seconds"),
        (
            _space(checkpoint_min_seconds="1m"),
            "checkpoint_min_seconds: must be a number of seconds",
        ),
        (_space(sampler="nsga2"), "objectives: sampler 'nsga2' needs"),
        (
            _space(objectives=[{"metric": "val_accuracy"}, {"metric": "epoch_seconds"}]),
            "objectives: only sampler 'nsga2' optimises several objectives, and the sampler is "
            "'tpe'",
        ),
        (_space(sampler="grid"), "sampler: sampler 'grid' cannot enumerate the float range"),
    ],
)
def test_bad_spaces_name_the_key_and_value(data: object, fragment: str) -> None:
    with pytest.raises(AfsearchError) as info:
        checked_space(data, source="space.yaml")
    message = str(info.value)
    assert message.startswith("space.yaml: ")
    assert fragment in message, message


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("task: digits-mlp\nfamilies: [\n  - family: swish\n")
    with pytest.raises(AfsearchError, match=r"bad.yaml: is not valid YAML at line \d+"):
        load_space(p)


def test_missing_file() -> None:
    with pytest.raises(AfsearchError, match="does not exist"):
        load_space("/nonexistent/space.yaml")


def test_grid_enumerates_every_candidate() -> None:
    space = parse_space(
        _space(
            sampler="grid",
            families=[
                {"family": "standard", "name": ["relu", "gelu"]},
                {"family": "prelu", "a": [0.0, 0.1, 0.2]},
            ],
        )
    )
    configs = [c for c, _ in grid_configs(space)]
    assert len(configs) == 5
    assert {"family": "prelu", "a": 0.1} in configs


def test_ensemble_and_grammar_sampling_respect_the_space() -> None:
    space = parse_space(
        _space(
            families=[
                {
                    "family": "ensemble",
                    "size": {"low": 2, "high": 3},
                    "members": [
                        {"family": "standard", "name": ["gelu", "tanh"]},
                        {"family": "elu"},
                    ],
                },
                {
                    "family": "grammar",
                    "depth": [1, 2],
                    "unary": ["x", "tanh", "sigmoid"],
                    "binary": ["mul", "add"],
                },
            ]
        )
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        activation, _ = sample_config(trial, space)
        cand = build(activation)
        seen.add(activation["family"])
        if activation["family"] == "ensemble":
            assert 2 <= len(activation["members"]) <= 3
        else:
            text = cand.text
            assert "sin" not in text.replace("sinh", "")
        study.tell(trial, 0.0)
    assert seen == {"ensemble", "grammar"}


def test_checkpoint_settings_default_to_every_epoch_at_most_twice_a_minute() -> None:
    space = parse_space(_space(), source="space.yaml")
    assert (space.checkpoint_every, space.checkpoint_min_seconds) == (1, 30.0)
    space = parse_space(_space(checkpoint_every=0, checkpoint_min_seconds=0), source="s.yaml")
    assert (space.checkpoint_every, space.checkpoint_min_seconds) == (0, 0.0)


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (
            {"family": "standard", "name": ["relu", "gleu", "tanh"]},
            "families[0].name: Unknown activation 'gleu'",
        ),
        (
            {
                "family": "ensemble",
                "members": [
                    {"family": "standard", "name": ["gelu", "tanh"]},
                    {"family": "slaf", "basis": ["power", "wavelet", "chebyshev"]},
                ],
            },
            "Unknown SLAF basis 'wavelet'",
        ),
    ],
)
def test_every_option_of_every_choice_is_checked(entry: dict, fragment: str) -> None:
    # A bad value in the middle of a list, or inside a member sub-space, fails validation.
    with pytest.raises(AfsearchError) as info:
        parse_space(_space(families=[entry]), source="s.yaml")
    assert fragment in str(info.value) and str(info.value).startswith("s.yaml: families[0]")
