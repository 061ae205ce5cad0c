"""Every registered task goes through the same contract, so adding a task tests it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from afsearch.tasks import BaseTask, EpochResult, list_tasks

TASKS = list_tasks()


class CountingReLU(nn.Module):
    """ReLU that counts its forward calls, to show the model really uses it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return torch.relu(x)


@pytest.fixture(scope="module")
def data_dirs(fake_cifar_dir: Path, fake_image_dir: Path) -> dict[str, Path]:
    """The folder each task that reads one reads, by task name."""
    return {"cifar10-resnet20": fake_cifar_dir, "image-folder": fake_image_dir}


def tiny_task(cls: type[BaseTask], data_dirs: dict[str, Path], epochs: int = 2) -> BaseTask:
    options: dict[str, Any] = dict(cls.smoke_options)
    if "data_dir" in cls.known_options():
        options["data_dir"] = str(data_dirs[cls.name])
    return cls(cls.make_settings(epochs=epochs, options=options))


def without_time(results: list[EpochResult]) -> list[dict[str, float]]:
    return [{k: v for k, v in r.metrics.items() if k != "epoch_seconds"} for r in results]


def test_the_built_in_tasks_are_registered() -> None:
    names = [cls.name for cls in TASKS]
    assert names == sorted(names)
    expected = {"digits-mlp", "mnist1d-mlp", "mnist1d-cnn", "teacher-student", "cifar10-resnet20"}
    expected |= {"inr-image", "pinn-poisson", "pinn-burgers", "image-folder"}
    assert expected <= set(names)


@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.name)
def test_class_attributes(cls: type[BaseTask]) -> None:
    assert cls.description
    assert cls.mode in ("max", "min")
    assert cls.problem in ("classification", "regression")
    assert set(cls.smoke_options) <= set(cls.known_options())


@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.name)
def test_fit_yields_one_finite_result_per_epoch(
    cls: type[BaseTask], data_dirs: dict[str, Path]
) -> None:
    task = tiny_task(cls, data_dirs)
    made: list[CountingReLU] = []

    def make_activation() -> nn.Module:
        made.append(CountingReLU())
        return made[-1]

    results = list(task.fit(make_activation, seed=0))

    assert [r.epoch for r in results] == [1, 2]
    for result in results:
        assert not result.diverged
        for key in (task.metric, "train_loss", "val_loss", "epoch_seconds"):
            assert math.isfinite(result.metrics[key]), key
    assert "test_loss" in results[-1].metrics
    assert made, "make_activation was never called"
    assert all(module.calls > 0 for module in made), "an activation module is never used"


@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.name)
def test_fit_is_deterministic_on_cpu(cls: type[BaseTask], data_dirs: dict[str, Path]) -> None:
    first = list(tiny_task(cls, data_dirs).fit(nn.ReLU, seed=3))
    again = list(tiny_task(cls, data_dirs).fit(nn.ReLU, seed=3))
    other = list(tiny_task(cls, data_dirs).fit(nn.ReLU, seed=4))
    assert without_time(first) == without_time(again)
    assert without_time(first) != without_time(other)


@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.name)
def test_a_second_fit_of_one_instance_repeats_the_first(
    cls: type[BaseTask], data_dirs: dict[str, Path]
) -> None:
    task = tiny_task(cls, data_dirs, epochs=1)
    assert without_time(list(task.fit(nn.ReLU, seed=0))) == without_time(
        list(task.fit(nn.ReLU, seed=0))
    )
