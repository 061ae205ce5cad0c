"""``afsearch validate --dry-run``: one training step before a search finds a network that
does not fit its data, and a metric the task never reports, as one sentence with exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app

BROKEN = """
import torch
from torch import nn

from afsearch.tasks import BaseTask, TaskData, TaskSettings


class Broken(BaseTask):
    name = "broken"
    description = "a network one input too narrow"
    metric, mode = "val_accuracy", "max"
    default_settings = TaskSettings(epochs=1, batch_size=16)

    def build_data(self, seed):
        x = torch.randn(64, 5)
        y = (x[:, 0] > 0).long()
        return TaskData(x[:32], y[:32], x[32:48], y[32:48], x[48:], y[48:])

    def build_model(self, make_activation):
        return nn.Sequential(nn.Linear(4, 8), make_activation(), nn.Linear(8, 2))


def train(trial):
    act = trial.make_activation()
    trial.report(val_score=float(act(torch.ones(1)).item()))
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dryrun_user.py").write_text(BROKEN)
    monkeypatch.delitem(sys.modules, "dryrun_user", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path


def validate(folder: Path, **space: object) -> tuple[int, str]:
    path = folder / "space.yaml"
    path.write_text(yaml.safe_dump({"families": [{"family": "swish"}], **space}))
    result = CliRunner().invoke(app, ["validate", str(path), "--dry-run"])
    return result.exit_code, result.output


def test_a_shape_error_in_build_model_is_found_by_the_dry_run(folder: Path) -> None:
    code, output = validate(folder, task="dryrun_user:Broken")
    assert code == 2
    assert "dry run of task" in output and "RuntimeError" in output
    assert "Traceback" not in output


def test_a_metric_a_training_function_never_reports_is_found(folder: Path) -> None:
    code, output = validate(folder, task="dryrun_user:train", metric="val_acc", mode="max")
    assert code == 2
    assert "reported val_score, and not 'val_acc'" in output
    code, output = validate(folder, task="dryrun_user:train", metric="val_score", mode="max")
    assert code == 0, output
    assert "dry run: ok — 1 activation sites, one epoch of the training function" in output


def test_a_built_in_task_passes_the_dry_run(folder: Path) -> None:
    code, output = validate(folder, task="digits-mlp")
    assert code == 0, output
    assert "one batch of" in output and "val_accuracy" in output


STREAMED = """
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from afsearch.tasks import BaseTask, TaskDatasets, TaskSettings


class Streamed(BaseTask):
    name = "streamed"
    description = "datasets and a loader"
    metric, mode = "val_accuracy", "max"
    default_settings = TaskSettings(epochs=1, batch_size=16)

    def build_data(self, seed):
        x = torch.randn(64, 4)
        y = (x[:, 0] > 0).long()
        return TaskDatasets(
            TensorDataset(x[:32], y[:32]),
            DataLoader(TensorDataset(x[32:48], y[32:48]), batch_size=8),
            TensorDataset(x[48:], y[48:]),
        )

    def build_model(self, make_activation):
        return nn.Sequential(nn.Linear(4, 8), make_activation(), nn.Linear(8, 2))
"""


def test_a_task_of_datasets_and_loaders_passes_the_dry_run(folder: Path) -> None:
    (folder / "dryrun_streamed.py").write_text(STREAMED)
    sys.modules.pop("dryrun_streamed", None)
    code, output = validate(folder, task="dryrun_streamed:Streamed")
    assert code == 0, output
    assert "one batch of 16 forward and backward" in output
