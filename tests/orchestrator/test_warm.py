"""Readying a worker for the first trials: the task and its data land in the worker's cache."""

from __future__ import annotations

import os

from afsearch.orchestrator import _trainable
from afsearch.orchestrator._warm import warm_worker
from afsearch.tasks import get_task


def test_a_warmed_worker_holds_the_task_and_its_data_under_the_trials_key() -> None:
    _trainable._TASKS.clear()
    settings = get_task("digits-mlp").make_settings(epochs=1)
    assert warm_worker("digits-mlp", settings, 7) == os.getpid()
    task = _trainable.worker_task("digits-mlp", settings)  # what a trial looks up
    assert len(_trainable._TASKS) == 1
    assert any(key[0] == 7 for key in task._data)  # the data of the trial's first seed


def test_a_warm_up_that_fails_is_silent() -> None:
    _trainable._TASKS.clear()
    assert warm_worker("no-such-task", None, 0) == os.getpid()
    assert not _trainable._TASKS
