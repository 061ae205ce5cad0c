"""A multi-objective study end to end on local Ray: every objective's value stored per trial
(Optuna's ``values``), shown by ``trials`` and its JSON, the leaderboard by Pareto rank.
Launch starts its own local Ray, as the CLI does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.results._pareto import pareto_ranks
from afsearch.store import trials

pytestmark = pytest.mark.slow


def test_every_objective_is_stored_shown_and_ranked(tmp_path: Path) -> None:
    space = {
        "name": "two",
        "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 8, "depth": 1}},
        "sampler": "nsga2",
        "scheduler": "none",
        "num_samples": 4,
        "max_concurrent": 2,
        "objectives": [["val_accuracy", "max"], ["activation_cost", "min"]],
        "families": [
            {"family": "standard", "name": ["relu", "tanh", "gelu"]},
            {"family": "swish", "beta": {"low": 0.5, "high": 3.0}},
        ],
    }
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(space))
    url = f"sqlite:///{tmp_path / 'two.db'}"
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["launch", str(path), "--db", url, "--num-cpus", "2", "--quiet",
         "--runs-dir", str(tmp_path / "runs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [t for t in trials("two", url) if t.status.value == "completed"]
    assert len(rows) >= 3
    for t in rows:
        assert t.values is not None and len(t.values) == 2
        assert t.values[0] == pytest.approx(t.metric_value)
        assert t.values[1] is not None and t.values[1] > 0
    listed = json.loads(runner.invoke(app, ["trials", "--db", url, "--json"]).output)
    by_number = {r["number"]: r for r in listed}
    want = pareto_ranks([t.values for t in rows], ["max", "min"])
    assert [by_number[t.number]["pareto_rank"] for t in rows] == want
    assert [by_number[t.number]["values"] for t in rows] == [t.values for t in rows]
    board = runner.invoke(app, ["trials", "--db", url, "--top", "3"], env={"COLUMNS": "160"})
    assert "by Pareto rank" in board.output and "activation_cost" in board.output
