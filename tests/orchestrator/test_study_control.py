"""A study managed from the outside, with real launches: the enqueued activations run first,
``afsearch stop`` from another process ends the running trials at an epoch's end (marked
interrupted, not lost), ``launch --resume`` finishes them under their numbers, a copy is
resumed on its own, and a deleted study's name is free for a new launch."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.orchestrator import launch
from afsearch.store import copy_study, delete_study, epochs, get_study, trials

pytestmark = pytest.mark.slow

EPOCHS = 150
SPACE = {
    "task": {"name": "digits-mlp", "epochs": EPOCHS, "options": {"width": 8}},
    "sampler": "random",
    "scheduler": "none",
    "num_samples": 2,
    "max_concurrent": 2,
    "checkpoint_every": 1,
    "checkpoint_min_seconds": 0,
    "enqueue": ["tanh", {"family": "swish", "beta": 1.25}],
    "families": [{"family": "elu", "alpha": {"low": 0.2, "high": 2.0}}],
}


def _wait_for_epochs(url: str, study: str, at_least: int, timeout_s: float) -> None:
    """Until every trial of ``study`` has stored ``at_least`` epochs (two trials run)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            rows = trials(study, url)
        except Exception:  # the launch has not created the study yet
            rows = []
        if len(rows) == 2 and all(len(epochs(t.id, url)) >= at_least for t in rows):
            return
        time.sleep(0.5)
    raise AssertionError(f"the launch did not train {at_least} epochs in {timeout_s} s")


def test_stop_from_another_process_then_resume(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    space = tmp_path / "s.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    runs = tmp_path / "runs"
    command = [
        str(Path(sys.executable).with_name("afsearch")),
        "launch",
        str(space),
        "--study",
        "s",
        "--db",
        url,
        "--runs-dir",
        str(runs),
        "--num-cpus",
        "2",
        "--quiet",
    ]
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_epochs(url, "s", 3, timeout_s=240)
        stopped = CliRunner().invoke(app, ["stop", "s", "--db", url])
        assert stopped.exit_code == 0, stopped.output
        assert "Asked study 's' to stop" in stopped.output
        output, _ = driver.communicate(timeout=240)
    finally:
        driver.kill()
    assert driver.returncode == 0, output
    # The running trials ended at an epoch's end, marked interrupted with their epochs kept;
    # the enqueued activations ran first, in order.
    rows = trials("s", url)
    assert [t.number for t in rows] == [0, 1]
    assert [t.config["activation"] for t in rows] == [
        {"family": "standard", "name": "tanh"},
        {"family": "swish", "beta": 1.25},
    ]
    assert [t.status.value for t in rows] == ["interrupted", "interrupted"]
    trained = {t.number: len(epochs(t.id, url)) for t in rows}
    assert all(3 <= n < EPOCHS for n in trained.values()), trained
    assert get_study("s", url).status.value == "interrupted"
    ot = optuna.load_study(study_name="afsearch:s", storage=url)
    assert optuna.trial.TrialState.RUNNING not in {t.state for t in ot.trials}
    # A second stop is refused: the study no longer runs.
    again = CliRunner().invoke(app, ["stop", "s", "--db", url])
    assert again.exit_code == 2 and "not running" in again.output

    result = launch(space, study="s", url=url, runs_dir=runs, resume=True, num_cpus=2)
    assert result.status.value == "completed"
    rows = trials("s", url)
    assert [(t.number, t.status.value) for t in rows] == [(0, "completed"), (1, "completed")]
    assert [t.config["activation"]["family"] for t in rows] == ["standard", "swish"]
    for t in rows:
        assert [e.epoch for e in epochs(t.id, url)] == list(range(1, EPOCHS + 1))
    ot = optuna.load_study(study_name="afsearch:s", storage=url)
    assert len(ot.best_trials) == 1 and ot.best_value == max(t.metric_value for t in rows)

    small = tmp_path / "small.yaml"
    small.write_text(
        yaml.safe_dump(
            {
                **SPACE,
                "task": {**SPACE["task"], "epochs": 1},
                "num_samples": 1,
                "enqueue": ["relu"],
            }
        )
    )
    # A copy continues on its own: one more trial, numbered as Optuna numbers it.
    copy_study("s", "s2", url)
    more = launch(small, study="s2", url=url, runs_dir=runs, resume=True, num_samples=3, num_cpus=2)
    assert more.status.value == "completed"
    extra = trials("s2", url)[2:]
    assert [t.status.value for t in extra] == ["completed"]
    (ot_extra,) = [
        t
        for t in optuna.load_study(study_name="afsearch:s2", storage=url).trials
        if t.number == extra[0].number
    ]
    assert ot_extra.value == extra[0].metric_value
    assert [(t.number, t.status.value) for t in trials("s", url)] == [
        (0, "completed"),
        (1, "completed"),
    ]

    # Deleted, the name is free: a new launch starts a fresh study in both halves.
    delete_study("s", url)
    fresh = launch(small, study="s", url=url, runs_dir=runs, num_cpus=2)
    assert fresh.status.value == "completed"
    (row,) = trials("s", url)
    assert row.config["activation"] == {"family": "standard", "name": "relu"}
    assert len(optuna.load_study(study_name="afsearch:s", storage=url).trials) == 1
