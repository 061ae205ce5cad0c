"""Loading and validating search spaces written in YAML.

A space file looks like this (every key but ``families`` is optional)::

    name: quickstart                # default study name
    task:
      name: digits-mlp              # a registered task or package.module:factory
      epochs: 4                     # fixed, or {low: .., high: ..} / [choices] to search
      batch_size: 64
      lr: {low: 1.0e-3, high: 1.0e-2, log: true}
      options: {width: 32}          # task-specific, fixed
    metric: val_accuracy            # default: the task's metric
    mode: max                       # default: the task's mode
    sampler: tpe                    # tpe | cmaes | random | grid | nsga2
    scheduler: asha                 # asha | none
    seeds: 1                        # training seeds per candidate (metric = mean)
    num_samples: 12
    max_concurrent: 2
    checkpoint_every: 1             # save each trial's training state every N epochs (0: never)
    checkpoint_min_seconds: 30      # ... but no more often than this
    families:                       # each entry is a sub-space; the sampler picks one
      - family: swish
        beta: {low: 0.5, high: 3.0, log: true}
        trainable: [false, true]    # a list is a categorical choice
      - family: slaf
        basis: [power, chebyshev]
        degree: {low: 2, high: 8}   # integer range when both ends are integers
      - family: ensemble
        size: {low: 2, high: 3}     # member count
        members:                    # member sub-spaces the sampler picks from
          - {family: standard, name: [gelu, silu, tanh]}
          - {family: swish, beta: {low: 0.5, high: 2.0}}
      - family: grammar
        depth: [1, 2]               # nesting of core units
        unary: [x, tanh, sigmoid, sin, relu]
        binary: [add, mul, max, sigmoid_mul]

Values are fixed scalars, lists (categorical), or ``{low, high[, log, step]}`` ranges. A list
that is itself a value (``coefficients``, ``bases``) is written ``{value: [...]}``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from afsearch.activations import BINARY, UNARY, build, get_family
from afsearch.exceptions import AfsearchError, choices

SAMPLERS = ("tpe", "cmaes", "random", "grid", "nsga2")
SCHEDULERS = ("asha", "none")
TOP_KEYS = {
    "name",
    "description",
    "task",
    "metric",
    "mode",
    "sampler",
    "scheduler",
    "seeds",
    "num_samples",
    "max_concurrent",
    "families",
    "sampler_options",
    "objectives",
    "grace_period",
    "max_failures",
    "trial_timeout_s",
    "checkpoint_every",
    "checkpoint_min_seconds",
}
TASK_KEYS = {"name", "epochs", "batch_size", "lr", "weight_decay", "optimizer", "options"}
STRUCTURAL = {
    "ensemble": {"size", "members", "normalize", "weights", "trainable"},
    "grammar": {"depth", "unary", "binary", "beta_init", "trainable"},
}


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool = False
    step: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class Choice:
    options: tuple[Any, ...]


Value = Any  # a fixed scalar, a Range or a Choice


@dataclass
class FamilySpace:
    label: str
    family: str
    values: dict[str, Value]
    members: list[FamilySpace] = field(default_factory=list)


@dataclass
class SearchSpace:
    """A validated search space; see the module docstring for the YAML form."""

    name: str
    task: str
    task_values: dict[str, Value]
    task_options: dict[str, Any]
    metric: str | None
    mode: str | None
    sampler: str
    scheduler: str
    seeds: int
    num_samples: int
    max_concurrent: int
    families: list[FamilySpace]
    raw: dict[str, Any]
    source: str = "<space>"
    sampler_options: dict[str, Any] = field(default_factory=dict)
    objectives: list[tuple[str, str]] = field(default_factory=list)
    grace_period: int = 1
    max_failures: int = 0
    trial_timeout_s: float | None = None
    #: Save each trial's training state every this many epochs (0: never), but no sooner than
    #: ``checkpoint_min_seconds`` after the trial's start or its last save, so that a retried or
    #: resumed trial continues from its last checkpoint instead of epoch 1.
    checkpoint_every: int = 1
    checkpoint_min_seconds: float = 30.0

    @property
    def goals(self) -> list[tuple[str, str]]:
        """What the study optimises: ``(metric, mode)`` of each objective, else of the metric."""
        return list(self.objectives) or [(str(self.metric), str(self.mode))]

    @property
    def objective_metric(self) -> str:
        """The metric the study ranks trials by (the first objective's)."""
        return self.goals[0][0]

    @property
    def objective_mode(self) -> str:
        return self.goals[0][1]


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, message: str) -> AfsearchError:
        where = f"{self.source}: {path}: " if path else f"{self.source}: "
        return AfsearchError(where + message)


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a YAML space file; errors name the file, the key and the value."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise AfsearchError(f"The search space file {str(p)!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AfsearchError(f"The search space file {str(p)!r} cannot be read: {exc}.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise AfsearchError(f"{p}: is not valid YAML{where}: {problem}.") from None
    return parse_space(data, source=str(p), default_name=p.stem)


def parse_space(data: Any, source: str = "<space>", default_name: str = "study") -> SearchSpace:
    ctx = _Ctx(source)
    if not isinstance(data, dict):
        raise ctx.error(
            "", f"a search space must be a mapping at the top level, got {_show(data)}."
        )
    unknown = set(data) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ctx.error(key, f"unknown key; valid keys are {choices(TOP_KEYS)}.")

    task_raw = data.get("task", {"name": "digits-mlp"})
    if isinstance(task_raw, str):
        task_raw = {"name": task_raw}
    if not isinstance(task_raw, dict):
        raise ctx.error("task", f"must be a task name or a mapping, got {_show(task_raw)}.")
    bad = set(task_raw) - TASK_KEYS
    if bad:
        raise ctx.error(
            f"task.{sorted(bad)[0]}", f"unknown key; valid keys are {choices(TASK_KEYS)}."
        )
    task_name = str(task_raw.get("name", "digits-mlp"))
    task_values = {
        k: _value(ctx, f"task.{k}", v) for k, v in task_raw.items() if k not in ("name", "options")
    }
    options = task_raw.get("options", {}) or {}
    if not isinstance(options, dict):
        raise ctx.error("task.options", f"must be a mapping, got {_show(options)}.")

    sampler = _enum(ctx, "sampler", data.get("sampler", "tpe"), SAMPLERS)
    scheduler = _enum(ctx, "scheduler", data.get("scheduler", "asha"), SCHEDULERS)
    mode = data.get("mode")
    if mode is not None:
        mode = _enum(ctx, "mode", mode, ("max", "min"))
    objectives: list[tuple[str, str]] = []
    if "objectives" in data and sampler != "nsga2":
        raise ctx.error(
            "objectives",
            f"only sampler 'nsga2' optimises several objectives, and the sampler is {sampler!r}; "
            "set sampler: nsga2, or give the one metric to optimise as metric: NAME.",
        )
    if sampler == "nsga2":
        raw_obj = data.get("objectives")
        if not isinstance(raw_obj, list) or len(raw_obj) < 2:
            raise ctx.error(
                "objectives",
                "sampler 'nsga2' needs a list of at least two {metric: NAME, mode: max|min} "
                "objectives, for example accuracy and seconds per epoch.",
            )
        for i, o in enumerate(raw_obj):
            if not isinstance(o, dict) or "metric" not in o:
                raise ctx.error(f"objectives[{i}]", "must be {metric: NAME, mode: max|min}.")
            objectives.append(
                (
                    str(o["metric"]),
                    _enum(ctx, f"objectives[{i}].mode", o.get("mode", "max"), ("max", "min")),
                )
            )
        if scheduler != "none":
            raise ctx.error(
                "scheduler",
                "must be 'none' with sampler 'nsga2' (ASHA stops trials "
                "on one metric, NSGA-II ranks several).",
            )

    fams = data.get("families")
    if not isinstance(fams, list) or not fams:
        raise ctx.error(
            "families",
            "must be a non-empty list of family sub-spaces, for example "
            "[{family: swish, beta: {low: 0.5, high: 2.0}}].",
        )
    families = [_family(ctx, f"families[{i}]", f) for i, f in enumerate(fams)]
    labels = [f.label for f in families]
    dup = {lbl for lbl in labels if labels.count(lbl) > 1}
    if dup:
        raise ctx.error(
            "families",
            f"two entries share the label {sorted(dup)[0]!r}; give each entry a distinct 'label'.",
        )

    space = SearchSpace(
        name=str(data.get("name", default_name)),
        task=task_name,
        task_values=task_values,
        task_options=dict(options),
        metric=None if data.get("metric") is None else str(data["metric"]),
        mode=mode,
        sampler=sampler,
        scheduler=scheduler,
        seeds=_int(ctx, "seeds", data.get("seeds", 1), 1, 20),
        num_samples=_int(ctx, "num_samples", data.get("num_samples", 10), 1, 1_000_000),
        max_concurrent=_int(ctx, "max_concurrent", data.get("max_concurrent", 2), 1, 10_000),
        families=families,
        raw=data,
        source=source,
        sampler_options=dict(data.get("sampler_options") or {}),
        objectives=objectives,
        grace_period=_int(ctx, "grace_period", data.get("grace_period", 1), 1, 10_000),
        max_failures=_int(ctx, "max_failures", data.get("max_failures", 0), 0, 100),
        trial_timeout_s=_timeout(ctx, data.get("trial_timeout_s")),
        checkpoint_every=_int(
            ctx, "checkpoint_every", data.get("checkpoint_every", 1), 0, 1_000_000
        ),
        checkpoint_min_seconds=_seconds(
            ctx, "checkpoint_min_seconds", data.get("checkpoint_min_seconds", 30.0)
        ),
    )
    _probe(ctx, space)
    if sampler == "grid":
        try:
            n = sum(1 for _ in grid_configs(space))
        except AfsearchError as exc:
            raise ctx.error("sampler", str(exc)) from None
        if n > 10_000:
            raise ctx.error("sampler", f"grid over {n} candidates is too large (at most 10000).")
    return space


def _timeout(ctx: _Ctx, v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise ctx.error("trial_timeout_s", f"must be a positive number of seconds, got {_show(v)}.")
    return float(v)


def _seconds(ctx: _Ctx, path: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf:
        raise ctx.error(path, f"must be a number of seconds of at least 0, got {_show(v)}.")
    return float(v)


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _enum(ctx: _Ctx, path: str, v: Any, valid: tuple[str, ...]) -> str:
    if v not in valid:
        raise ctx.error(path, f"must be {choices(valid)}, got {_show(v)}.")
    return str(v)


def _int(ctx: _Ctx, path: str, v: Any, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ctx.error(path, f"must be an integer from {lo} to {hi}, got {_show(v)}.")
    return v


def _value(ctx: _Ctx, path: str, v: Any) -> Value:
    if isinstance(v, list):
        if not v:
            raise ctx.error(path, "an empty list offers no choice; give at least one value.")
        return Choice(tuple(_literal(o) for o in v))
    if isinstance(v, dict) and "value" in v and len(v) == 1:
        return v["value"]
    if isinstance(v, dict) and ("low" in v or "high" in v):
        extra = set(v) - {"low", "high", "log", "step"}
        if extra or "low" not in v or "high" not in v:
            raise ctx.error(
                path,
                "a range is {low: NUMBER, high: NUMBER, log: BOOL, step: "
                f"NUMBER}}, got {_show(v)}.",
            )
        lo, hi = v["low"], v["high"]
        for name, x in (("low", lo), ("high", hi)):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ctx.error(f"{path}.{name}", f"must be a number, got {_show(x)}.")
        if lo > hi:
            raise ctx.error(path, f"low must not exceed high, got low={lo}, high={hi}.")
        log = bool(v.get("log", False))
        if log and lo <= 0:
            raise ctx.error(path, f"a log range needs low > 0, got low={lo}.")
        integer = isinstance(lo, int) and isinstance(hi, int)
        return Range(float(lo), float(hi), log, v.get("step"), integer)
    if isinstance(v, dict) and "choices" in v and len(v) == 1:
        return _value(ctx, path, list(v["choices"]))
    return v


def _literal(v: Any) -> Any:
    return v["value"] if isinstance(v, dict) and set(v) == {"value"} else v


def _family(ctx: _Ctx, path: str, spec: Any) -> FamilySpace:
    if not isinstance(spec, dict) or "family" not in spec:
        raise ctx.error(path, f"must be a mapping with a 'family' key, got {_show(spec)}.")
    name = spec["family"]
    try:
        fam = get_family(str(name))
    except AfsearchError as exc:
        raise ctx.error(f"{path}.family", str(exc)) from None
    label = str(spec.get("label", name))
    values: dict[str, Value] = {}
    members: list[FamilySpace] = []
    for key, raw in spec.items():
        if key in ("family", "label"):
            continue
        kpath = f"{path}.{key}"
        if fam.name == "ensemble" and key == "members":
            if not isinstance(raw, list) or not raw:
                raise ctx.error(kpath, "must list member sub-spaces to pick from.")
            members = [_family(ctx, f"{kpath}[{i}]", m) for i, m in enumerate(raw)]
            for m in members:
                if m.family == "ensemble":
                    raise ctx.error(kpath, "an ensemble member cannot itself be an ensemble.")
            continue
        if fam.name == "grammar" and key in ("unary", "binary"):
            pool = UNARY if key == "unary" else BINARY
            ops = raw if isinstance(raw, list) else [raw]
            for op in ops:
                if op not in pool:
                    raise ctx.error(
                        kpath, f"unknown operator {_show(op)}; valid ones are {choices(pool)}."
                    )
            values[key] = tuple(ops)
            continue
        values[key] = _value(ctx, kpath, raw)
    if fam.name == "grammar":
        values.setdefault("unary", tuple(UNARY))
        values.setdefault("binary", tuple(BINARY))
        values.setdefault("depth", 1)
    if fam.name == "ensemble":
        values.setdefault("size", 2)
        if not members:
            raise ctx.error(
                f"{path}.members", "an ensemble sub-space must list member sub-spaces to pick from."
            )
    return FamilySpace(label, fam.name, values, members)


# ---------------------------------------------------------------------------------------------
# Sampling: turning choices into one family config.


class Suggester(Protocol):
    """The interface :func:`sample_config` asks values of (Optuna's Trial satisfies it)."""

    def suggest_float(
        self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None
    ) -> float: ...
    def suggest_int(
        self, name: str, low: int, high: int, *, log: bool = False, step: int = 1
    ) -> int: ...
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


def _encode(v: Any) -> Any:
    # Optuna stores categorical choices as None/bool/int/float/str only.
    return v if v is None or isinstance(v, (bool, int, float, str)) else repr(v)


def _suggest(trial: Suggester, name: str, v: Value) -> Any:
    if isinstance(v, Range):
        if v.integer:
            step = int(v.step or 1)
            return trial.suggest_int(name, int(v.low), int(v.high), log=v.log, step=step)
        return trial.suggest_float(name, v.low, v.high, log=v.log, step=v.step)
    if isinstance(v, Choice):
        encoded = [_encode(o) for o in v.options]
        picked = trial.suggest_categorical(name, encoded)
        return v.options[encoded.index(picked)]
    return v


def sample_family(trial: Suggester, fs: FamilySpace, prefix: str) -> dict[str, Any]:
    if fs.family == "grammar":
        return _sample_grammar(trial, fs, prefix)
    config: dict[str, Any] = {"family": fs.family}
    for key, v in fs.values.items():
        if key == "size":
            continue
        config[key] = _suggest(trial, f"{prefix}.{key}", v)
    if fs.family == "ensemble":
        size = int(_suggest(trial, f"{prefix}.size", fs.values["size"]))
        labels = [m.label for m in fs.members]
        members = []
        for k in range(size):
            pick = trial.suggest_categorical(f"{prefix}.m{k}", labels)
            member = fs.members[labels.index(pick)]
            members.append(sample_family(trial, member, f"{prefix}.m{k}.{pick}"))
        config["members"] = members
    return config


def _sample_grammar(trial: Suggester, fs: FamilySpace, prefix: str) -> dict[str, Any]:
    depth = int(_suggest(trial, f"{prefix}.depth", fs.values["depth"]))
    unary, binary = list(fs.values["unary"]), list(fs.values["binary"])

    def unit(level: int, path: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"binary": trial.suggest_categorical(f"{path}.b", binary)}
        for side in ("left", "right"):
            op = trial.suggest_categorical(f"{path}.{side}", unary)
            if level < depth and side == "left":
                spec[side] = {"unary": op, "of": unit(level + 1, f"{path}.in")}
            else:
                spec[side] = op
        return spec

    config = {"family": "grammar", "unit": unit(1, prefix)}
    for key in ("beta_init", "trainable"):
        if key in fs.values:
            config[key] = _suggest(trial, f"{prefix}.{key}", fs.values[key])
    return config


def sample_config(trial: Suggester, space: SearchSpace) -> tuple[dict[str, Any], dict[str, Any]]:
    """One activation config and the task settings for it, chosen through ``trial``."""
    labels = [f.label for f in space.families]
    label = trial.suggest_categorical("family", labels) if len(labels) > 1 else labels[0]
    fs = space.families[labels.index(label)]
    activation = sample_family(trial, fs, label)
    task = {k: _suggest(trial, f"task.{k}", v) for k, v in space.task_values.items()}
    return activation, task


# ---------------------------------------------------------------------------------------------
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


def _probe(ctx: _Ctx, space: SearchSpace) -> None:
    from afsearch.tasks import get_task

    for i, fs in enumerate(space.families):
        for corner in (_Corner(False), _Corner(True)):
            try:
                build(sample_family(corner, fs, fs.label))
            except AfsearchError as exc:
                raise ctx.error(f"families[{i}]", str(exc)) from None
    try:
        task_cls = type(get_task(space.task))
    except AfsearchError as exc:
        raise ctx.error("task.name", str(exc)) from None
    if space.metric is None:
        space.metric = task_cls.metric
    if space.mode is None:
        space.mode = task_cls.mode
    for corner in (_Corner(False), _Corner(True)):
        values = {k: _suggest(corner, k, v) for k, v in space.task_values.items()}
        try:
            task_settings(space, values)
        except AfsearchError as exc:
            raise ctx.error("task", str(exc)) from None


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
        for config in _expand(fs):
            for task in _expand_values(space.task_values):
                yield config, task


def _options(v: Value, path: str) -> list[Any]:
    if isinstance(v, Choice):
        return list(v.options)
    if isinstance(v, Range):
        if not v.integer:
            raise AfsearchError(
                f"sampler 'grid' cannot enumerate the float range at {path}; "
                "use a list of values instead."
            )
        step = int(v.step or 1)
        return list(range(int(v.low), int(v.high) + 1, step))
    return [v]


def _expand_values(values: Mapping[str, Value], path: str = "task") -> Iterator[dict[str, Any]]:
    keys = list(values)
    for combo in itertools.product(*[_options(values[k], f"{path}.{k}") for k in keys]):
        yield dict(zip(keys, combo))


def _expand(fs: FamilySpace) -> Iterator[dict[str, Any]]:
    if fs.family in ("ensemble", "grammar"):
        raise AfsearchError(
            f"sampler 'grid' cannot enumerate {fs.family!r} sub-spaces; use "
            "'random' or 'tpe' for them."
        )
    for combo in _expand_values(fs.values, fs.label):
        yield {"family": fs.family, **combo}
