"""The driver is killed with SIGKILL mid-study; ``--resume`` finishes it with nothing lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from afsearch.store import trials

pytestmark = pytest.mark.slow

AFSEARCH = str(Path(sys.executable).parent / "afsearch")


def completed(db: Path) -> int:
    try:
        with sqlite3.connect(db) as con:
            return con.execute(
                "select count(*) from afs_trials where status = 'completed'"
            ).fetchone()[0]
    except sqlite3.Error:
        return 0


def start_until_completed(
    cmd: list[str], env: dict[str, str], cwd: Path, db: Path, n: int
) -> subprocess.Popen[str]:
    """Start a launch in a session of its own (a signal to the group reaches the driver and the
    Ray processes it started) and return once ``n`` trials completed, the launch still running."""
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 240
    while completed(db) < n and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the study finished before it could be interrupted"
    return proc


def assert_one_number_per_trial(url: str, study: str, n: int) -> None:
    """Every trial appears once, under the number of the Optuna trial that first ran it."""
    import optuna

    rows = trials(study, url)
    assert len(rows) == n and len({t.number for t in rows}) == n
    ot = optuna.load_study(study_name=f"afsearch:{study}", storage=url)
    by_number = {o.number: o for o in ot.trials}
    for t in rows:
        assert by_number[t.number].user_attrs["activation_id"] == t.activation_id


def test_kill_driver_then_resume(tmp_path: Path) -> None:
    space = tmp_path / "s.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "digits-mlp", "epochs": 3, "options": {"width": 16, "depth": 1}},
                "scheduler": "none",
                "num_samples": 8,
                "max_concurrent": 2,
                "families": [
                    {"family": "swish", "beta": {"low": 0.5, "high": 2.0}},
                    {"family": "prelu", "a": {"low": 0.0, "high": 0.3}},
                ],
            }
        )
    )
    db = tmp_path / "a.db"
    env = {**os.environ, "AFSEARCH_DB": f"sqlite:///{db}", "AFSEARCH_RUNS": str(tmp_path / "r")}
    cmd = [AFSEARCH, "launch", str(space), "--study", "k", "--num-cpus", "2", "--quiet"]
    proc = start_until_completed(cmd, env, tmp_path, db, 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    before = {t.number: t for t in trials("k", f"sqlite:///{db}")}
    assert 2 <= sum(t.status.value == "completed" for t in before.values()) < 8

    done = subprocess.run(
        [*cmd, "--resume"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    after = trials("k", f"sqlite:///{db}")
    assert_one_number_per_trial(f"sqlite:///{db}", "k", 8)
    assert len({t.tune_trial_id for t in after}) == 8
    assert {t.status.value for t in after} <= {"completed", "duplicate"}
    for t in after:
        if t.number in before and before[t.number].status.value == "completed":
            # Finished trials were kept, not trained again.
            assert t.tune_trial_id == before[t.number].tune_trial_id
            assert t.metric_value == before[t.number].metric_value


def test_ctrl_c_leaves_a_consistent_database_and_resume_finishes(tmp_path: Path) -> None:
    space = tmp_path / "s.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "digits-mlp", "epochs": 4, "options": {"width": 16, "depth": 1}},
                "scheduler": "none",
                "num_samples": 6,
                "max_concurrent": 2,
                "families": [{"family": "swish", "beta": {"low": 0.5, "high": 2.0}}],
            }
        )
    )
    db = tmp_path / "c.db"
    url = f"sqlite:///{db}"
    env = {**os.environ, "AFSEARCH_DB": url, "AFSEARCH_RUNS": str(tmp_path / "r")}
    cmd = [AFSEARCH, "launch", str(space), "--study", "c", "--num-cpus", "2", "--quiet"]
    proc = start_until_completed(cmd, env, tmp_path, db, 1)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
    out, _ = proc.communicate(timeout=180)
    assert "Traceback" not in out, out[-2000:]
    from afsearch.store import get_study

    assert get_study("c", url).status.value == "interrupted"
    statuses = [t.status.value for t in trials("c", url)]
    assert "running" not in statuses
    assert statuses.count("completed") < 6

    done = subprocess.run(
        [*cmd, "--resume"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    after = trials("c", url)
    assert_one_number_per_trial(url, "c", 6)
    assert {t.status.value for t in after} <= {"completed", "duplicate"}
    assert get_study("c", url).status.value == "completed"


def _epoch_rows(db: Path, study: str) -> dict[int, dict]:
    from afsearch.store import epochs

    url = f"sqlite:///{db}"
    (row,) = trials(study, url)
    return {e.epoch: e.metrics for e in epochs(row.id, url)}


def checkpointed(db: Path) -> int:
    try:
        with sqlite3.connect(db) as con:
            found = con.execute("select max(checkpoint_epoch) from afs_trials").fetchone()[0]
            return int(found or 0)
    except sqlite3.Error:
        return 0


def test_a_trial_cut_off_with_the_driver_continues_from_its_checkpoint(tmp_path: Path) -> None:
    epochs_ = 12
    space = tmp_path / "s.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "digits-mlp", "epochs": epochs_, "options": {"width": 16}},
                "scheduler": "none",
                "num_samples": 1,
                "max_concurrent": 1,
                "checkpoint_min_seconds": 0,
                "families": [{"family": "swish", "beta": 1.3, "trainable": True}],
            }
        )
    )
    env = {**os.environ, "AFSEARCH_RUNS": str(tmp_path / "r")}
    cut, whole = tmp_path / "cut.db", tmp_path / "whole.db"
    cmd = [AFSEARCH, "launch", str(space), "--study", "ck", "--num-cpus", "1", "--quiet"]
    cmd_cut = [*cmd, "--db", f"sqlite:///{cut}"]
    proc = subprocess.Popen(
        cmd_cut, env=env, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 240
    while checkpointed(cut) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the trial finished before it could be cut off"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = checkpointed(cut)
    assert 3 <= saved < epochs_

    done = subprocess.run(
        [*cmd_cut, "--resume"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = trials("ck", f"sqlite:///{cut}")
    assert row.status.value == "completed"
    rows = _epoch_rows(cut, "ck")
    assert sorted(rows) == list(range(1, epochs_ + 1))
    # The epochs the checkpoint covered were kept; training went on after them.
    assert {rows[e]["resumed_at"] for e in range(1, saved + 1)} == {0}
    assert {rows[e]["resumed_at"] for e in range(saved + 1, epochs_ + 1)} == {saved}

    # The same trial, never interrupted, ends where the continued one did.
    subprocess.run([*cmd, "--db", f"sqlite:///{whole}"], env=env, cwd=tmp_path, check=True)
    reference = _epoch_rows(whole, "ck")
    for e in range(1, epochs_ + 1):
        assert rows[e]["val_accuracy"] == pytest.approx(reference[e]["val_accuracy"], abs=1e-9)
        assert rows[e]["train_loss"] == pytest.approx(reference[e]["train_loss"], rel=1e-6)
    (ref,) = trials("ck", f"sqlite:///{whole}")
    assert row.metric_value == pytest.approx(ref.metric_value, abs=1e-9)
    assert row.learned_params["mean"]["beta"] == pytest.approx(
        ref.learned_params["mean"]["beta"], rel=1e-6
    )
