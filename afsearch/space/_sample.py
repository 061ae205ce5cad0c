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
    """One activation config and the task settings for it, chosen through ``trial``; with
    ``per_site``, one config per site of the task's network (space._per_site)."""
    if space.per_site:
        from afsearch.space._per_site import sample_sites

        task = {k: suggest(trial, f"task.{k}", v) for k, v in space.task_values.items()}
        return sample_sites(trial, space), task
    labels = [f.label for f in space.families]
    label = trial.suggest_categorical("family", labels) if len(labels) > 1 else labels[0]
    fs = space.families[labels.index(label)]
    activation = sample_family(fs, trial, label)
    task = {k: suggest(trial, f"task.{k}", v) for k, v in space.task_values.items()}
    return activation, task


# Validation by probing: build the candidates at the ends of every range.


#: Candidates one validation may build; a space with more choices is probed in part.
MAX_PROBES = 5000


class _Corner:
    """A Suggester that picks the lowest (or highest) end of every range and the first (or
    last) option of every choice, except the choices ``pins`` names, which take that option.
    It records every choice it met, with its options."""

    def __init__(self, high: bool, pins: dict[str, int] | None = None) -> None:
        self.high, self.pins = high, dict(pins or {})
        self.seen: dict[str, list[Any]] = {}

    def suggest_float(self, name, low, high, *, log=False, step=None):
        return high if self.high else low

    def suggest_int(self, name, low, high, *, log=False, step=1):
        return high if self.high else low

    def suggest_categorical(self, name, options):
        options = list(options)
        self.seen[name] = options
        if name in self.pins:
            return options[self.pins[name]]
        return options[-1] if self.high else options[0]


def _probe_family(where: Where, label: str, fs: Any) -> list[Any]:
    """Build a candidate for every option of every choice of ``fs``, so a bad value anywhere
    is found before a launch: each option is tried with the choices that led to it pinned and
    the rest at their first (or last) option, the ranges at either end. Returns what it built."""
    queue: list[tuple[bool, dict[str, int]]] = [(False, {}), (True, {})]
    covered: set[tuple[str, int]] = set()
    built: list[Any] = []
    runs = 0
    while queue and runs < MAX_PROBES:
        high, pins = queue.pop()
        corner = _Corner(high, pins)
        runs += 1
        try:
            built.append(build(sample_family(fs, corner, label)))
        except AfsearchError as exc:
            pinned = [n for n in pins if n in corner.seen]
            if pinned:
                name = pinned[-1]
                key = name[len(label) + 1 :] if name.startswith(label + ".") else name
                shown = corner.seen[name][pins[name]]
                reason = str(exc).rstrip(".")
                raise where.at(key).error(f"{reason} (with {key} = {shown!r}).") from None
            raise where.error(str(exc)) from None
        for name, options in corner.seen.items():
            for k in range(len(options)):
                if (name, k) not in covered:
                    covered.add((name, k))
                    queue.append((high, {**pins, name: k}))
    return built


def probe(where: Where, space: SearchSpace) -> None:
    """Build the candidates at the corners of every family sub-space, and check the task:
    its name, the metric the space names, its settings, and that it accepts the families."""
    from afsearch.space._task_check import check_candidates, check_task
    from afsearch.tasks import get_task, task_class

    built = [
        (fs.label, _probe_family(where.at("families").at(f"[{i}]"), fs.label, fs))
        for i, fs in enumerate(space.families)
    ]
    try:
        task_class(space.task, search_path=space.folder)
    except AfsearchError as exc:
        raise where.at("task.name").error(str(exc)) from None
    low = {k: suggest(_Corner(False), k, v) for k, v in space.task_values.items()}
    try:  # the task with the space's options: its defaults may lack a required one (data_dir)
        task = get_task(space.task, task_settings(space, low), search_path=space.folder)
    except AfsearchError as exc:
        raise where.at("task").error(str(exc)) from None
    check_task(where, space, task)
    check_candidates(where, space, task, built)
    for corner in (_Corner(False), _Corner(True)):
        values = {k: suggest(corner, k, v) for k, v in space.task_values.items()}
        try:
            task_settings(space, values)
        except AfsearchError as exc:
            raise where.at("task").error(str(exc)) from None


def task_settings(space: SearchSpace, values: Mapping[str, Any]) -> Any:
    """The task's settings for one trial: the space's fixed values and the sampled ones."""
    from afsearch.tasks import TaskSettings, get_task, task_class

    base = task_class(space.task, search_path=space.folder).default_settings
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
    get_task(space.task, settings, search_path=space.folder)  # validates the options
    return settings


def grid_configs(space: SearchSpace) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every candidate of a space whose values are all finite choices (for ``sampler: grid``)."""
    for fs in space.families:
        for config in family_grid(fs):
            for task in grid_values(space.task_values, "task"):
                yield config, task
