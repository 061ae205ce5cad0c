"""register_task, get_task by name and by import path, list_tasks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

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


# -- a user's task module beside the space file or in the working directory ------------------

USER_TASK = """
import torch
from torch import nn

from afsearch.tasks import BaseTask, TaskData, TaskSettings

WHERE = {where!r}


class MyTask(BaseTask):
    name = "my-task"
    description = "points labelled by the sign of x0 * x1"
    metric = "val_accuracy"
    mode = "max"
    default_settings = TaskSettings(epochs=1, batch_size=32, options={{"n": 120}})

    def build_data(self, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(self.options["n"], 2, generator=g)
        y = (x[:, 0] * x[:, 1] > 0).long()
        return TaskData(x[:80], y[:80], x[80:100], y[80:100], x[100:], y[100:])

    def build_model(self, make_activation):
        return nn.Sequential(nn.Linear(2, 8), make_activation(), nn.Linear(8, 2))
"""

# The module names the tests below write; each test forgets them again.
USER_MODULES = ("mytask", "mypkg", "spacetask", "twin", "needsdep", "nowhere_task")


@pytest.fixture
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tmp_path`` with a ``cwd`` folder to run in; sys.path and sys.modules restored after."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield tmp_path
    for name in list(sys.modules):
        if name.partition(".")[0] in USER_MODULES:
            del sys.modules[name]


def write_task(folder: Path, module: str, where: str = "") -> Path:
    path = folder / f"{module.replace('.', '/')}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(USER_TASK.format(where=where or str(folder)))
    return path


def test_a_task_module_in_the_working_directory_is_found(user_dirs: Path) -> None:
    path = write_task(user_dirs / "cwd", "mytask")
    task = get_task("mytask:MyTask", TaskSettings(epochs=1, batch_size=32, options={"n": 120}))
    assert type(task).__name__ == "MyTask"
    assert sys.modules["mytask"].__file__ == str(path)
    (result,) = task.fit(nn.ReLU, seed=0)
    assert "val_accuracy" in result.metrics


def test_a_package_in_the_working_directory_is_found(user_dirs: Path) -> None:
    (user_dirs / "cwd" / "mypkg").mkdir()
    (user_dirs / "cwd" / "mypkg" / "__init__.py").write_text("")
    write_task(user_dirs / "cwd", "mypkg.tasks")
    assert type(get_task("mypkg.tasks:MyTask")).__module__ == "mypkg.tasks"


def test_a_task_module_in_the_search_path_is_found(user_dirs: Path) -> None:
    spaces = user_dirs / "spaces"
    path = write_task(spaces, "spacetask")
    assert type(get_task("spacetask:MyTask", search_path=spaces)).__name__ == "MyTask"
    assert sys.modules["spacetask"].__file__ == str(path)
    # Given as a string as well; the module is imported once.
    assert type(get_task("spacetask:MyTask", search_path=str(spaces))).__name__ == "MyTask"


def test_the_search_path_comes_before_the_working_directory(user_dirs: Path) -> None:
    spaces = user_dirs / "spaces"
    write_task(spaces, "twin", where="spaces")
    write_task(user_dirs / "cwd", "twin", where="cwd")
    get_task("twin:MyTask", search_path=spaces)
    assert sys.modules["twin"].WHERE == "spaces"


def test_only_the_folder_that_holds_the_module_joins_sys_path(user_dirs: Path) -> None:
    before = list(sys.path)
    spaces = user_dirs / "spaces"
    spaces.mkdir()
    write_task(user_dirs / "cwd", "mytask")
    get_task("mytask:MyTask", search_path=spaces)
    assert sys.path[: len(before)] == before
    assert sys.path[len(before) :] == [str(user_dirs / "cwd")]


def test_a_module_found_nowhere_says_where_it_looked(user_dirs: Path) -> None:
    before = list(sys.path)
    spaces = user_dirs / "spaces"
    spaces.mkdir()
    with pytest.raises(AfsearchError) as info:
        get_task("nowhere_task:MyTask", search_path=spaces)
    message = str(info.value)
    for word in ["could not be imported", "'nowhere_task'", str(spaces), str(user_dirs / "cwd")]:
        assert word in message
    assert "\n" not in message
    assert message.endswith(".")
    assert sys.path == before


def test_a_missing_dependency_of_the_user_module_is_named(user_dirs: Path) -> None:
    before = list(sys.path)
    (user_dirs / "cwd" / "needsdep.py").write_text("import no_such_dependency_xyz\n")
    with pytest.raises(AfsearchError) as info:
        get_task("needsdep:MyTask")
    message = str(info.value)
    assert "could not be imported" in message
    assert "no_such_dependency_xyz" in message
    assert "working directory" not in message
    assert sys.path == before


NO_METRIC = """
from afsearch.tasks import BaseTask

class Quiet(BaseTask):
    name = "quiet"
    description = "no metric"
    mode = "max"

    def build_data(self, seed): ...

    def build_model(self, make_activation): ...

def no_argument():
    return Quiet()
"""


def test_a_task_class_without_a_metric_is_one_sentence(user_dirs: Path) -> None:
    (user_dirs / "cwd" / "quiettask.py").write_text(NO_METRIC)
    with pytest.raises(AfsearchError, match=r"must set the class attribute 'metric'.*val_accuracy"):
        get_task("quiettask:Quiet")


def test_a_task_factory_that_takes_no_argument_is_one_sentence(user_dirs: Path) -> None:
    (user_dirs / "cwd" / "quiettask2.py").write_text(NO_METRIC)
    with pytest.raises(AfsearchError, match=r"cannot be called with one argument"):
        get_task("quiettask2:no_argument")


def test_a_training_function_is_told_from_a_task_factory(user_dirs: Path) -> None:
    (user_dirs / "cwd" / "twofuncs.py").write_text(
        USER_TASK.format(where="cwd")
        + "\n\ndef train(trial):\n    trial.report(val_accuracy=1.0)\n"
        + "\n\ndef make(settings):\n    return MyTask(settings)\n"
    )
    assert type(get_task("twofuncs:train")).__name__ == "FunctionTask[twofuncs:train]"
    assert type(get_task("twofuncs:make")).__name__ == "MyTask"
