"""A user's task module beside the space file: found by validate and launch, shipped to the
workers, with no PYTHONPATH set. Launch starts its own local Ray here (no module fixture), as
the CLI does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.orchestrator import launch
from afsearch.orchestrator._ray import task_runtime_env
from afsearch.space import load_space
from afsearch.store import trials

pytestmark = pytest.mark.slow

TASK = """
import torch
from torch import nn

from afsearch.tasks import BaseTask, TaskData, TaskSettings


class SignTask(BaseTask):
    name = "sign-task"
    description = "the sign of x0 * x1"
    metric, mode = "val_accuracy", "max"
    default_settings = TaskSettings(epochs=1, batch_size=64, lr=1e-2)

    def build_data(self, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(600, 4, generator=g)
        y = (x[:, 0] * x[:, 1] > 0).long()
        return TaskData(x[:400], y[:400], x[400:500], y[400:500], x[500:], y[500:])

    def build_model(self, make_activation):
        return nn.Sequential(nn.Linear(4, 16), make_activation(), nn.Linear(16, 2))
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "signtask_user.py").write_text(TASK)
    space = {
        "task": {"name": "signtask_user:SignTask", "epochs": 1},
        "scheduler": "none",
        "num_samples": 1,
        "max_concurrent": 1,
        "families": [{"family": "swish", "beta": 1.0}],
    }
    (folder / "space.yaml").write_text(yaml.safe_dump(space))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delitem(sys.modules, "signtask_user", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return folder


def test_validate_finds_the_task_beside_the_space(project: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(project / "space.yaml")])
    assert result.exit_code == 0, result.output
    assert "signtask_user:SignTask" in result.output


def test_launch_ships_the_task_module_to_the_workers(project: Path) -> None:
    space = load_space(project / "space.yaml")
    env = task_runtime_env(space)
    assert env == {"py_modules": [str(project / "signtask_user.py")]}
    url = f"sqlite:///{project.parent / 'user.db'}"
    result = launch(space, study="user", url=url, runs_dir=project.parent / "runs", num_cpus=2)
    assert result.status == "completed"
    (row,) = trials("user", url)
    assert row.status.value == "completed" and row.metric_value is not None
