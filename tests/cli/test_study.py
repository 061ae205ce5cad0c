"""``afsearch study delete|rename|copy`` on a database written as a launch writes it."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.store import TrialStore, optuna_study_name, studies, trials
from tests.helpers import store_trial

runner = CliRunner()


def _db(tmp_path: Path) -> str:
    """Study ``s`` (one trial) with its Optuna study, as a launch leaves them."""
    url = store_trial(tmp_path / "a.db")
    with TrialStore(url) as store:
        store.set_study_status("s", "completed", finished=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ot = optuna.create_study(study_name=optuna_study_name("s"), storage=url, direction="maximize")
    ot.enqueue_trial({"swish.beta": 1.5})
    ot.optimize(lambda t: t.suggest_float("swish.beta", 0.5, 2.0) / 2, n_trials=1)
    return url


def _names(url: str) -> tuple[list[str], list[str]]:
    optuna_names = optuna.study.get_all_study_names(storage=url)
    return [s.name for s in studies(url)], sorted(optuna_names)


def test_delete_asks_first_and_takes_yes(tmp_path: Path) -> None:
    url = _db(tmp_path)
    declined = runner.invoke(app, ["study", "delete", "s", "--db", url], input="n\n")
    assert declined.exit_code == 1 and "Delete study 's' (completed, 1 trials)" in declined.output
    assert _names(url) == (["s"], ["afsearch:s"])
    accepted = runner.invoke(app, ["study", "delete", "s", "--db", url], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Deleted study 's': 1 trials and its Optuna study." in accepted.output
    assert _names(url) == ([], [])


def test_delete_with_yes_does_not_ask(tmp_path: Path) -> None:
    url = _db(tmp_path)
    result = runner.invoke(app, ["study", "delete", "s", "--db", url, "--yes", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["afsearch_rows"]["afs_trials"] == 1 and data["optuna_rows"]["trials"] == 1
    assert _names(url) == ([], [])


def test_rename_and_copy_move_both_halves(tmp_path: Path) -> None:
    url = _db(tmp_path)
    renamed = runner.invoke(app, ["study", "rename", "s", "t", "--db", url])
    assert renamed.exit_code == 0
    assert "Renamed study 's' to 't' and its Optuna study." in renamed.output
    copied = runner.invoke(app, ["study", "copy", "t", "u", "--db", url])
    assert copied.exit_code == 0 and "Copied study 't' as 'u': 1 trials" in copied.output
    assert _names(url) == (["t", "u"], ["afsearch:t", "afsearch:u"])
    assert [x.metric_value for x in trials("u", url)] == [0.8]
    assert optuna.load_study(study_name="afsearch:u", storage=url).best_value == 0.75


def test_bad_names_are_one_line_errors(tmp_path: Path) -> None:
    url = _db(tmp_path)
    for args, fragment in [
        (["study", "delete", "nope", "--yes"], "No study named 'nope'"),
        (["study", "rename", "s", "bad name"], "The study name 'bad name' is not valid"),
        (["study", "copy", "s", "s"], "A study named 's' already exists"),
    ]:
        result = runner.invoke(app, [*args, "--db", url])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and fragment in result.output
    assert _names(url) == (["s"], ["afsearch:s"])
