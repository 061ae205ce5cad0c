"""A researcher's own training script, with its DataLoader, searched through ``afsearch
launch`` from a temporary project folder: trials train through the function on Ray's workers,
ASHA stops some through ``trial.report``, checkpoints are taken through ``trial.save``, the
confirm stage and ``rerun`` train it again on fresh seeds, and ``export`` writes the winner.
Launch starts its own local Ray here, as the CLI does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.store import confirm_runs, trials

pytestmark = pytest.mark.slow

SCRIPT = '''
import torch
from torch import nn


def make_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1000, 6, generator=g)
    y = ((x[:, 0] * x[:, 1] + 0.5 * x[:, 2].sin()) > 0).long()
    train = torch.utils.data.TensorDataset(x[:600], y[:600])
    return train, (x[600:800], y[600:800]), (x[800:], y[800:])


def accuracy(model, data, device):
    x, y = data
    with torch.no_grad():
        out = model(x.to(device))
    return nn.functional.cross_entropy(out, y.to(device)), (out.argmax(1).cpu() == y).float().mean()


def train(trial):
    """The researcher's own loop: a DataLoader, an MLP, Adam."""
    train_set, val, test = make_data()
    loader = torch.utils.data.DataLoader(
        train_set, batch_size=trial.settings.batch_size, shuffle=True
    )
    width = trial.options["width"]
    model = nn.Sequential(
        nn.Linear(6, width), trial.make_activation(channels=width, inplace=True),
        nn.Linear(width, 2),
    ).to(trial.device)
    optimizer = trial.make_optimizer(model)
    state = trial.restore()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    for epoch in range(trial.start_epoch, trial.settings.epochs + 1):
        for xb, yb in loader:
            xb, yb = xb.to(trial.device), yb.to(trial.device)
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            optimizer.step()
        val_loss, val_accuracy = accuracy(model, val, trial.device)
        metrics = {"val_accuracy": val_accuracy, "val_loss": val_loss}
        if epoch == trial.settings.epochs:  # the confirm stage judges on the test split
            metrics["test_loss"], metrics["test_accuracy"] = accuracy(model, test, trial.device)
        if trial.should_checkpoint():
            trial.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()})
        trial.report(**metrics)
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "userloop.py").write_text(SCRIPT)
    space = {
        "name": "own-loop",
        "task": {
            "name": "userloop:train",
            "epochs": 3,
            "batch_size": 100,
            "lr": 0.02,
            "options": {"width": 16},
        },
        "metric": "val_accuracy",
        "mode": "max",
        "scheduler": "asha",
        "num_samples": 4,
        "max_concurrent": 2,
        "checkpoint_min_seconds": 0,
        "families": [
            {"family": "swish", "beta": {"low": 0.5, "high": 3.0}},
            {"family": "standard", "name": ["relu", "tanh"]},
        ],
        "confirm": {"top": 1, "seeds": 2, "against": ["relu"]},
    }
    (folder / "space.yaml").write_text(yaml.safe_dump(space))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delitem(sys.modules, "userloop", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return folder


def test_a_training_function_searches_confirms_reruns_and_exports(project: Path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{project.parent / 'own.db'}"
    space = str(project / "space.yaml")
    result = runner.invoke(app, ["validate", space])
    assert result.exit_code == 0, result.output
    assert "userloop:train" in result.output and "val_accuracy" in result.output

    result = runner.invoke(
        app,
        ["launch", space, "--db", url, "--num-cpus", "2", "--quiet",
         "--runs-dir", str(project.parent / "runs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = trials("own-loop", url)
    assert len(rows) == 4
    done = [r for r in rows if r.metric_value is not None]
    assert done and all(0.4 <= r.metric_value <= 1.0 for r in done)
    assert all(r.error is None for r in rows), [r.error for r in rows]
    # trial.save after epochs 1 and 2 became the search's checkpoints.
    assert any(r.checkpoint and r.checkpoint_epoch in (1, 2) for r in rows)
    runs = confirm_runs("own-loop", url)
    assert {r.arm for r in runs} >= {"relu"} and len(runs) == 4
    assert all(r.metric_value is not None for r in runs)

    best = max(done, key=lambda r: r.metric_value)
    result = runner.invoke(
        app,
        ["rerun", f"own-loop/{best.number}", "--db", url, "--seeds", "2", "--in-process",
         "--against", "relu", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rerun = json.loads(result.stdout)
    assert [row["metric"] for row in rerun] == ["val_accuracy", "val_accuracy"]
    assert all(len(row["values"]) == 2 for row in rerun)

    out = project.parent / "exported"
    result = runner.invoke(
        app, ["export", f"own-loop/{best.number}", "--db", url, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    (module,) = out.glob("*.py")
    assert "class" in module.read_text()
