"""register_task, get_task by name and by import path, list_tasks."""

from __future__ import annotations

import pytest
from torch import nn

from afsearch.exceptions import AfsearchError
from afsearch.tasks import DigitsMLP, TaskSettings, _registry, get_task, list_tasks, register_task
from tests.tasks.custom_task import XorTask


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register tasks without leaking them into the contract tests."""
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))


def test_get_task_by_name() -> None:
    task = get_task("digits-mlp")
    assert isinstance(task, DigitsMLP)
    assert task.settings.epochs == DigitsMLP.default_settings.epochs
    assert task.options["width"] == DigitsMLP.default_settings.options["width"]


def test_get_task_passes_the_settings() -> None:
    task = get_task("digits-mlp", TaskSettings(epochs=2, options={"width": 8}))
    assert task.settings.epochs == 2
    assert task.options["width"] == 8


def test_a_duplicate_name_is_refused(scratch_registry: None) -> None:
    class Twin(XorTask):
        name = "digits-mlp"

    with pytest.raises(AfsearchError, match="'digits-mlp' is already registered"):
        register_task(Twin)
    assert get_task("digits-mlp").__class__ is DigitsMLP


def test_register_then_register_again(scratch_registry: None) -> None:
    class Fresh(XorTask):
        name = "fresh-task"

    assert register_task(Fresh) is Fresh
    assert isinstance(get_task("fresh-task"), Fresh)
    assert Fresh in list_tasks()
    with pytest.raises(AfsearchError, match="already registered"):
        register_task(Fresh)


def test_the_scratch_registry_did_not_leak() -> None:
    assert "fresh-task" not in [cls.name for cls in list_tasks()]


def test_register_refuses_what_is_not_a_task(scratch_registry: None) -> None:
    with pytest.raises(AfsearchError, match="BaseTask subclass"):
        register_task(nn.ReLU)  # type: ignore[type-var]

    class Sideways(XorTask):
        name = "sideways"
        mode = "up"

    with pytest.raises(AfsearchError, match="'up'"):
        register_task(Sideways)


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(AfsearchError) as info:
        get_task("digits-mpl")
    message = str(info.value)
    assert "'digits-mpl'" in message
    for cls in list_tasks():
        assert repr(cls.name) in message
    assert "pkg.mod:factory" in message


@pytest.mark.parametrize(
    "path", ["tests.tasks.custom_task:XorTask", "tests.tasks.custom_task:make_xor_task"]
)
def test_get_task_by_import_path(path: str) -> None:
    task = get_task(path, XorTask.make_settings(epochs=1))
    assert isinstance(task, XorTask)
    results = list(task.fit(nn.ReLU, seed=0))
    assert len(results) == 1
    assert "val_accuracy" in results[0].metrics


def test_an_import_path_task_is_not_registered() -> None:
    get_task("tests.tasks.custom_task:XorTask")
    assert "xor" not in [cls.name for cls in list_tasks()]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("tests.tasks.no_such_module:XorTask", ["could not be imported", "no_such_module"]),
        ("no_such_package.tasks:MyTask", ["could not be imported", "no_such_package"]),
        ("tests.tasks.custom_task:Missing", ["names nothing", "'Missing'"]),
        ("tests.tasks.custom_task:not_a_task", ["not a BaseTask", "'nope'"]),
        ("tests.tasks.custom_task:NOT_CALLABLE", ["not a BaseTask", "3"]),
        ("tests.tasks.custom_task:", ["Unknown task", "pkg.mod:factory"]),
    ],
)
def test_a_bad_import_path_is_one_sentence(path: str, words: list[str]) -> None:
    with pytest.raises(AfsearchError) as info:
        get_task(path)
    for word in words:
        assert word in str(info.value)
