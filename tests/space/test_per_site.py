"""per_site in a space: validated, the task's sites counted, one config drawn per site."""

from __future__ import annotations

import textwrap
from pathlib import Path

import optuna
import pytest
import yaml

from afsearch.exceptions import AfsearchError
from afsearch.search import check_space
from afsearch.space import load_space, sample_config

FAMILIES = [
    {"family": "swish", "beta": {"low": 0.5, "high": 2.0}, "trainable": True},
    {"family": "standard", "name": ["relu", "gelu"]},
]


def _space(tmp_path: Path, **top) -> Path:
    data = {
        "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 8, "depth": 3}},
        "per_site": True,
        "sampler": "random",
        "families": FAMILIES,
        **top,
    }
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_sites_of_the_tasks_network_are_counted(tmp_path: Path) -> None:
    space = load_space(_space(tmp_path))
    assert space.per_site and space.sites == 3
    cnn = {"name": "mnist1d-cnn", "epochs": 1}
    assert load_space(_space(tmp_path, task=cnn)).sites == 3
    assert not load_space(_space(tmp_path, per_site=False)).per_site


def test_a_trial_draws_one_config_per_site(tmp_path: Path) -> None:
    space = load_space(_space(tmp_path))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    trial = study.ask()
    activation, _ = sample_config(trial, space)
    assert activation["family"] == "per_site" and len(activation["sites"]) == 3
    assert {f"site{k}.family" for k in range(3)} <= set(trial.params)
    families = {s["family"] for s in activation["sites"]}
    assert families <= {"swish", "standard"}


@pytest.mark.parametrize(
    ("top", "fragment"),
    [
        ({"per_site": "yes"}, r"per_site: must be true or false, got 'yes'"),
        ({"sampler": "grid", "families": [FAMILIES[1]]}, "per_site: a grid over one candidate"),
        (
            {"prescreen": {"pool": 50}},
            "per_site: the prescreen scores one activation for the whole network",
        ),
    ],
)
def test_bad_per_site_spaces_get_a_sentence(tmp_path: Path, top: dict, fragment: str) -> None:
    with pytest.raises(AfsearchError, match=fragment):
        check_space(load_space(_space(tmp_path, **top)))


def test_a_task_whose_network_cannot_be_built_gets_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "gpu_task.py").write_text(
        textwrap.dedent(
            """
            import torch
            from afsearch.tasks import BaseTask, TaskData

            class GpuOnly(BaseTask):
                name = "gpu-only"
                description = "a network that needs CUDA to be built"
                metric = "val_loss"
                mode = "min"

                def build_data(self, seed):
                    raise NotImplementedError

                def build_model(self, make_activation):
                    raise RuntimeError("no CUDA device")
            """
        )
    )
    with pytest.raises(AfsearchError, match=r"per_site: .*'gpu-only' could not be built.*no CUDA"):
        load_space(_space(tmp_path, task="gpu_task:GpuOnly"))
