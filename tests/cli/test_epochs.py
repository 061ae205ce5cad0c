"""``afsearch show``'s epoch table: each metric once, flags as words."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from afsearch.cli import _epochs, app
from afsearch.store import TrialStore, trial
from tests.helpers import store_trial


def test_show_prints_each_metric_once_and_flags_as_words(tmp_path: Path) -> None:
    url = store_trial(tmp_path / "a.db")
    # What a trial reports each epoch: the task's metrics, the report's flags, Tune's clock.
    reported = {
        "epoch_seconds": 0.5,
        "train_loss": 0.9,
        "val_loss": 0.7,
        "val_accuracy": 0.85,
        "epoch": 2.0,
        "final": 1.0,
        "diverged": 0.0,
        "timed_out": 0.0,
        "reused_from": -1.0,
        "resumed_at": 1.0,
        "training_iteration": 2.0,
        "time_this_iter_s": 3.1,
        "time_total_s": 6.2,
    }
    with TrialStore(url) as store:
        store.record_epochs(trial("s/0", store).id, [(2, reported, 0.85)])
    result = CliRunner().invoke(app, ["show", "s/0", "--db", url], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    table = result.output[result.output.index("epochs") :]
    lines = table.splitlines()
    assert all(len(line) <= 80 for line in lines), table
    # The study's metric first, the others once as reported, the epoch's seconds last.
    words = " ".join(lines[:4]).split()
    assert words == [
        "epochs",
        "val",
        "train",
        "val",
        "epoch",
        "accuracy",
        "loss",
        "loss",
        "seconds",
        "notes",
    ]
    for hidden in ("final", "diverged", "training", "time", "reused"):
        assert hidden not in table, hidden
    rows = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert rows[0] == ["1", "0.8000", "1.0000", "-", "-"]
    assert rows[1][:5] == ["2", "0.8500", "0.9000", "0.7000", "0.50"]
    assert " ".join(" ".join(lines[-3:]).split()) == (
        "2 0.8500 0.9000 0.7000 0.50 resumed from the epoch 1 checkpoint, last epoch"
    )


def test_notes_name_each_flag() -> None:
    assert _epochs.notes({"diverged": 1.0, "final": 1.0}) == "diverged, last epoch"
    assert _epochs.notes({"timed_out": 1.0}) == "timed out"
    assert _epochs.notes({"reused_from": 4.0}) == "replays trial id 4"
    assert _epochs.notes({"reused_from": -1.0, "final": 0.0, "resumed_at": 0.0}) == ""


def test_show_and_trials_print_the_activation_cost_once(tmp_path: Path) -> None:
    url = store_trial(tmp_path / "a.db")
    reported = {"val_accuracy": 0.85, "activation_cost": 2.44, "activation_memory": 1.0}
    with TrialStore(url) as store:
        store.record_epochs(trial("s/0", store).id, [(2, reported, 0.85)])
    shown = CliRunner().invoke(app, ["show", "s/0", "--db", url], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    assert "activation cost (forward+backward per element): 2.4x ReLU, memory 1x" in shown.output
    assert "activation cost" not in shown.output[shown.output.index("epochs") :]
    board = CliRunner().invoke(app, ["trials", "--db", url], env={"COLUMNS": "160"})
    assert board.exit_code == 0, board.output
    assert "cost" in board.output and "2.4x ReLU" in board.output
