"""per_channel in a space's family entries: validated by building, kept by sampling."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

from afsearch.activations import build
from afsearch.exceptions import AfsearchError
from afsearch.space import load_space, sample_config


def _load(tmp_path: Path, families: list) -> object:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({"task": "digits-mlp", "families": families}))
    return load_space(path)


@pytest.mark.parametrize(
    "entry",
    [
        {"family": "prelu", "trainable": True, "per_channel": True},
        {"family": "rational", "per_channel": True},
        {"family": "grammar", "trainable": True, "per_channel": True, "depth": 1},
    ],
    ids=lambda e: e["family"],
)
def test_sampled_configs_keep_per_channel(tmp_path: Path, entry: dict) -> None:
    space = _load(tmp_path, [entry])
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    activation, _ = sample_config(trial, space)  # type: ignore[arg-type]
    assert activation["per_channel"] is True
    candidate = build(activation)
    assert candidate.per_channel == bool(candidate.trainable)


def test_per_channel_on_standard_names_the_entry(tmp_path: Path) -> None:
    with pytest.raises(AfsearchError, match=r"families\[1\]: 'per_channel' .* 'standard' has no"):
        _load(tmp_path, [{"family": "swish"}, {"family": "standard", "per_channel": True}])
