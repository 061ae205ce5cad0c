"""``afsearch importance``, ``plot`` and ``compare`` print tables, JSON, a PNG, or a sentence
(studies written as a launch writes them; tests/results run them on a real launch)."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.store import TrialStore, copy_study, optuna_study_name
from tests.helpers import store_trial

runner = CliRunner()


def _db(tmp_path: Path, optuna_trials: int) -> str:
    """Study ``s`` (one stored trial) and an Optuna study with ``optuna_trials`` trials over
    two parameters, the first of which decides the value."""
    url = store_trial(tmp_path / "a.db")
    with TrialStore(url) as store:
        store.set_study_status("s", "completed", finished=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ot = optuna.create_study(
        study_name=optuna_study_name("s"),
        storage=url,
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    ot.optimize(
        lambda t: t.suggest_float("swish.beta", 0, 1) + 0.01 * t.suggest_float("task.lr", 0, 1),
        n_trials=optuna_trials,
    )
    return url


def test_importance_prints_a_table_and_json(tmp_path: Path) -> None:
    url = _db(tmp_path, 12)
    table = runner.invoke(app, ["importance", "s", "--db", url])
    assert table.exit_code == 0, table.output
    assert table.output.index("swish.beta") < table.output.index("task.lr")
    found = json.loads(runner.invoke(app, ["importance", "s", "--db", url, "--json"]).output)
    assert list(found) == ["swish.beta", "task.lr"] and found["swish.beta"] > 0.8


def test_importance_of_too_few_trials_is_one_sentence(tmp_path: Path) -> None:
    url = _db(tmp_path, 1)
    result = runner.invoke(app, ["importance", "s", "--db", url])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'s' has 1 completed trial; parameter importances need at least 2" in result.output


def test_plot_writes_a_png(tmp_path: Path) -> None:
    url = _db(tmp_path, 1)
    result = runner.invoke(app, ["plot", "s", "--db", url, "--out", str(tmp_path / "s.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    missing = runner.invoke(app, ["plot", "s", "--db", url])
    assert missing.exit_code == 2 and "--out" in missing.output


def test_compare_puts_best_trials_side_by_side(tmp_path: Path) -> None:
    url = _db(tmp_path, 1)
    copy_study("s", "t", url)
    table = runner.invoke(app, ["compare", "s", "t", "--db", url])
    assert table.exit_code == 0, table.output
    assert "best" in table.output and table.output.count("0.8000") == 2
    assert "beta=1.7" in table.output
    rows = json.loads(runner.invoke(app, ["compare", "s", "t", "--db", url, "--json"]).output)
    assert [(r["study"], r["best_trial"], r["best_value"]) for r in rows] == [
        ("s", 0, 0.8),
        ("t", 0, 0.8),
    ]
    unknown = runner.invoke(app, ["compare", "s", "nope", "--db", url])
    assert unknown.exit_code == 2 and "No study named 'nope'" in unknown.output
