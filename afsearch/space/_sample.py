"""Drawing one trial's activation and task settings from a space; the grid; the probe that
validates a space by building the candidates at its corners."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from afsearch.activations import build, family_grid, sample_family
from afsearch.domains import Choice, Range, Suggester, Where, grid_values, suggest
from afsearch.exceptions import AfsearchError
from afsearch.space._space import SearchSpace


def sample_config(trial: Suggester, space: SearchSpace) -> tuple[dict[str, Any], dict[str, Any]]:
    """One activation config and the task settings for it, chosen through ``trial``."""
    labels = [f.label for f in space.families]
    label = trial.suggest_categorical("family", labels) if len(labels) > 1 else labels[0]
    fs = space.families[labels.index(label)]
    activation = sample_family(fs, trial, label)
    task = {k: suggest(trial, f"task.{k}", v) for k, v in space.task_values.items()}
    return activation, task


# Validation by probing: build the candidates at the ends of every range.


class _Corner:
    """A Suggester that always picks the lowest (or highest) option."""

    def __init__(self, high: bool) -> None:
        self.high = high

    def suggest_float(self, name, low, high, *, log=False, step=None):
        return high if self.high else low

    def suggest_int(self, name, low, high, *, log=False, step=1):
        return high if self.high else low

    def suggest_categorical(self, name, options):
        return options[-1] if self.high else options[0]


def probe(where: Where, space: SearchSpace) -> None:
    """Build the candidates at the corners of every family sub-space, and check the task."""
    from afsearch.tasks import get_task

    for i, fs in enumerate(space.families):
        for corner in (_Corner(False), _Corner(True)):
            try:
                build(sample_family(fs, corner, fs.label))
            except AfsearchError as exc:
                raise where.at(f"families[{i}]").error(str(exc)) from None
    try:
        task_cls = type(get_task(space.task, search_path=space.folder))
    except AfsearchError as exc:
        raise where.at("task.name").error(str(exc)) from None
    if space.metric is None:
        space.metric = task_cls.metric
    if space.mode is None:
        space.mode = task_cls.mode
    for corner in (_Corner(False), _Corner(True)):
        values = {k: suggest(corner, k, v) for k, v in space.task_values.items()}
        try:
            task_settings(space, values)
        except AfsearchError as exc:
            raise where.at("task").error(str(exc)) from None


def task_settings(space: SearchSpace, values: Mapping[str, Any]) -> Any:
    """The task's settings for one trial: the space's fixed values and the sampled ones."""
    from afsearch.tasks import TaskSettings, get_task

    task = get_task(space.task)
    base = task.default_settings
    fixed = {k: v for k, v in space.task_values.items() if not isinstance(v, (Range, Choice))}
    values = {**fixed, **values}
    kwargs = {
        "epochs": values.get("epochs", base.epochs),
        "batch_size": values.get("batch_size", base.batch_size),
        "lr": values.get("lr", base.lr),
        "weight_decay": values.get("weight_decay", base.weight_decay),
        "optimizer": values.get("optimizer", base.optimizer),
        "options": {**base.options, **space.task_options},
    }
    settings = TaskSettings(**kwargs)
    get_task(space.task, settings)  # validates options against the task
    return settings


def grid_configs(space: SearchSpace) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every candidate of a space whose values are all finite choices (for ``sampler: grid``)."""
    for fs in space.families:
        for config in family_grid(fs):
            for task in grid_values(space.task_values, "task"):
                yield config, task
