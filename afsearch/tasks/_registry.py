"""Tasks by name, or by an import path to a user's own task.

Plain and explicit: :func:`register_task` refuses a name already taken, :func:`get_task` of an
unknown name lists the valid ones. An import path ``package.module:attribute`` is resolved with
:func:`importlib.import_module` and :func:`getattr`, never ``eval``; a module that is not on the
Python path is also looked for in a given search folder (the space file's) and in the working
directory, so ``--task mytask:MyTask`` finds ``mytask.py`` beside the space file or where
afsearch runs.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

from afsearch.exceptions import AfsearchError, choices
from afsearch.tasks._base import BaseTask
from afsearch.tasks._function import FunctionTask, function_task, is_training_function
from afsearch.tasks._settings import MODES, PROBLEMS, TaskSettings

_REGISTRY: dict[str, type[BaseTask]] = {}

_UNKNOWN = (
    "Unknown task {name!r}; valid tasks are {valid}, or an import path 'pkg.mod:factory' "
    "to a training function train(trial), a BaseTask subclass or a callable that returns a "
    "BaseTask."
)
_NOT_IMPORTABLE = "Task import path {path!r} could not be imported: {error}."
_NOT_FOUND = (
    "Task import path {path!r} could not be imported: there is no module {module!r} {places}; "
    "put {file} there or add its folder to PYTHONPATH."
)
_NO_ATTRIBUTE = "Task import path {path!r} names nothing: module {module!r} has no {attr!r}."
_NOT_A_TASK = "Task import path {path!r} gave {value!r}, which is not a BaseTask."

T = TypeVar("T", bound=type[BaseTask])


def register_task(cls: T) -> T:
    """Register a task class under its ``name``; usable as a class decorator.

    A task class needs ``name``, ``description``, ``metric``, ``mode`` (``"max"`` or
    ``"min"``) and ``default_settings``; a name already taken is refused.
    """
    if not isinstance(cls, type) or not issubclass(cls, BaseTask):
        raise AfsearchError(f"register_task takes a BaseTask subclass, got {cls!r}.")
    check_task_class(cls, "Task class")
    if cls.name in _REGISTRY:
        raise AfsearchError(
            f"A task named {cls.name!r} is already registered "
            f"({_REGISTRY[cls.name].__module__}.{_REGISTRY[cls.name].__qualname__}); "
            "choose another name."
        )
    _REGISTRY[cls.name] = cls
    return cls


def list_tasks() -> list[type[BaseTask]]:
    """Every registered task class, sorted by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_task(
    name_or_path: str,
    settings: TaskSettings | None = None,
    *,
    search_path: str | os.PathLike[str] | None = None,
) -> BaseTask:
    """A task instance from a registered name or an import path ``pkg.mod:attribute``.

    ``attribute`` is a training function ``train(trial)`` (one parameter, named ``trial`` or
    annotated :class:`~afsearch.tasks.Trial`; see :mod:`afsearch.tasks._function`), a
    BaseTask subclass, called as ``factory(settings)``, or any callable taking the settings
    (``None`` for the task's defaults) and returning a BaseTask. A module
    that is not on the Python path is looked for in the folder ``search_path`` (the space
    file's), then in the working directory; the folder it is found in joins the end of
    ``sys.path``, so the module's own imports of its neighbours work too.

    >>> get_task("digits-mlp").metric
    'val_accuracy'
    """
    factory = _factory(name_or_path, search_path)
    task = factory(settings)
    if not isinstance(task, BaseTask):
        raise AfsearchError(_NOT_A_TASK.format(path=name_or_path, value=task))
    if not isinstance(task, FunctionTask):  # the space names a training function's metric
        check_task_class(type(task), f"The task {name_or_path!r} made")
    return task


def task_class(
    name_or_path: str, *, search_path: str | os.PathLike[str] | None = None
) -> type[BaseTask]:
    """The class of the task ``name_or_path`` names, built from its defaults only when it is
    named by a factory function (a class's options are then checked where settings are)."""
    factory = _factory(name_or_path, search_path)
    if isinstance(factory, type) and issubclass(factory, BaseTask):
        return factory
    return type(get_task(name_or_path, search_path=search_path))


def _factory(
    name_or_path: str, search_path: str | os.PathLike[str] | None
) -> Callable[[TaskSettings | None], object]:
    """What makes the task ``name_or_path`` from its settings: a task class, or a callable."""
    if not isinstance(name_or_path, str):
        raise AfsearchError(f"A task is named by a string, got {name_or_path!r}.")
    if name_or_path in _REGISTRY:
        return _REGISTRY[name_or_path]
    if ":" not in name_or_path:
        raise AfsearchError(_UNKNOWN.format(name=name_or_path, valid=choices(_REGISTRY)))
    module_name, _, attr = name_or_path.partition(":")
    if not module_name or not attr:
        raise AfsearchError(_UNKNOWN.format(name=name_or_path, valid=choices(_REGISTRY)))
    factory: object = _import(module_name, name_or_path, search_path)
    for part in attr.split("."):  # allows "mod:Outer.Inner"
        if not hasattr(factory, part):
            raise AfsearchError(
                _NO_ATTRIBUTE.format(path=name_or_path, module=module_name, attr=attr)
            )
        factory = getattr(factory, part)
    if not callable(factory):
        raise AfsearchError(_NOT_A_TASK.format(path=name_or_path, value=factory))
    if is_training_function(factory):
        return function_task(factory, name_or_path)
    if isinstance(factory, type) and issubclass(factory, BaseTask):
        check_task_class(factory, f"Task class {name_or_path!r}")
    else:
        _check_factory(factory, name_or_path)
    return factory


def _check_factory(factory: Callable[..., object], path: str) -> None:
    """A sentence unless ``factory`` can be called with the settings as its one argument."""
    try:
        inspect.signature(factory).bind(None)
    except TypeError:
        raise AfsearchError(
            f"Task import path {path!r} names {factory!r}, which cannot be called with one "
            "argument; name a BaseTask subclass, a function that takes the settings (or None) "
            "and returns a task, or a training function train(trial)."
        ) from None
    except ValueError:  # a builtin without a signature: call it and see
        pass


def check_task_class(cls: type[BaseTask], what: str) -> None:
    """A sentence unless task class ``cls`` sets what every task needs: ``name``,
    ``description``, ``metric``, and ``mode`` and ``problem`` among their values."""
    for attr in ("name", "description", "metric", "mode"):
        if not isinstance(getattr(cls, attr, None), str) or not getattr(cls, attr):
            raise AfsearchError(
                f"{what} ({cls.__name__}) must set the class attribute {attr!r} to a string"
                + (", the metric it reports, such as 'val_accuracy'." if attr == "metric" else ".")
            )
    if cls.mode not in MODES:
        raise AfsearchError(
            f"mode of task {cls.name!r} must be one of {choices(MODES)}, got {cls.mode!r}."
        )
    if cls.problem not in PROBLEMS:
        raise AfsearchError(
            f"problem of task {cls.name!r} must be one of {choices(PROBLEMS)}, got {cls.problem!r}."
        )


def _import(module_name: str, path: str, search_path: str | os.PathLike[str] | None) -> ModuleType:
    """Import ``module_name`` from the Python path, else from ``search_path`` or the cwd."""
    top = module_name.partition(".")[0]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != top:  # a dependency, or a submodule of a package that was found
            raise AfsearchError(_NOT_IMPORTABLE.format(path=path, error=error)) from error
        not_found = error
    except ImportError as error:
        raise AfsearchError(_NOT_IMPORTABLE.format(path=path, error=error)) from error
    places = [os.path.abspath(search_path)] if search_path is not None else []
    places.append(os.getcwd())
    places = list(dict.fromkeys(places))
    for place in places:
        module = _import_from(place, module_name, top, path)
        if module is not None:
            return module
    where = ["on the Python path", *(f"in {p!r}" for p in places[:-1])]
    listed = ", ".join(where) + f" or in the working directory {places[-1]!r}"
    file = f"the package {top}/" if "." in module_name else f"{top}.py"
    raise AfsearchError(
        _NOT_FOUND.format(path=path, module=top, places=listed, file=file)
    ) from not_found


def _import_from(place: str, module_name: str, top: str, path: str) -> ModuleType | None:
    """``module_name`` imported with ``place`` at the end of ``sys.path``; ``None`` if absent.

    ``place`` stays on ``sys.path`` only when the module was found and imported from it.
    """
    added = place not in sys.path
    if added:
        sys.path.append(place)
    importlib.invalidate_caches()  # the module may have been written since the last look
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        _remove(place, added)
        if error.name == top:
            return None
        raise AfsearchError(_NOT_IMPORTABLE.format(path=path, error=error)) from error
    except ImportError as error:
        _remove(place, added)
        raise AfsearchError(_NOT_IMPORTABLE.format(path=path, error=error)) from error
    except BaseException:
        _remove(place, added)
        raise


def _remove(place: str, added: bool) -> None:
    if added and place in sys.path:
        sys.path.remove(place)
