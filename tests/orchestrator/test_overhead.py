"""What a launch does once instead of per trial: a worker's tasks (with their data) kept
between trials, and Optuna's SQLite connections committing without an fsync each."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from afsearch.orchestrator import _trainable
from afsearch.orchestrator._optuna import open_optuna_study
from afsearch.store import TrialStore
from afsearch.tasks import get_task


def test_a_worker_keeps_its_task_and_data_between_trials(monkeypatch) -> None:
    monkeypatch.setattr(_trainable, "_TASKS", {})
    settings = get_task("digits-mlp").make_settings(epochs=2, options={"width": 8})
    first = _trainable.worker_task("digits-mlp", settings)
    data = first.data(0)
    again = _trainable.worker_task("digits-mlp", dataclasses.replace(settings))
    assert again is first
    assert again.data(0) is data  # built once on this worker
    other = _trainable.worker_task("digits-mlp", dataclasses.replace(settings, epochs=3))
    assert other is not first and other.settings.epochs == 3


def test_a_worker_keeps_a_few_tasks_the_newest_first(monkeypatch) -> None:
    monkeypatch.setattr(_trainable, "_TASKS", {})
    base = get_task("digits-mlp").make_settings()
    settings = [dataclasses.replace(base, epochs=e) for e in range(1, _trainable.TASKS_KEPT + 2)]
    made = [_trainable.worker_task("digits-mlp", s) for s in settings]
    assert len(_trainable._TASKS) == _trainable.TASKS_KEPT
    # The oldest went; the newest is kept, and using one makes it the newest.
    assert _trainable.worker_task("digits-mlp", settings[-1]) is made[-1]
    assert _trainable.worker_task("digits-mlp", settings[0]) is not made[0]


def test_optuna_commits_to_sqlite_as_the_store_does(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    TrialStore(url)
    study, storage = open_optuna_study(url, "o", [("val_accuracy", "max")])
    study.ask()
    with storage.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
