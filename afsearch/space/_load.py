"""Reading a search space from YAML and checking every value (docs/SPACE.md: the reference).

Errors name the file, the key and the bad value; each family reads its own entries of
``families`` (:meth:`afsearch.activations.BaseFamily.parse_space`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from afsearch.activations import parse_family_space
from afsearch.domains import Where, parse_value, show
from afsearch.exceptions import AfsearchError, choices
from afsearch.space._confirm_options import ConfirmOptions
from afsearch.space._enqueue import parse_enqueue
from afsearch.space._per_site import check_per_site
from afsearch.space._prescreen_options import PrescreenOptions, check_prescreen
from afsearch.space._resources import parse_resources
from afsearch.space._sample import probe
from afsearch.space._space import (
    COMPILE_MODES,
    MODES,
    SCHEDULERS,
    TASK_KEYS,
    TOP_KEYS,
    SearchSpace,
)
from afsearch.trial import run_logger_names


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
    """A validated :class:`SearchSpace` from the YAML data of a space file.

    What only the strategy knows (its ``sampler_options``, what it cannot search) is checked by
    :func:`afsearch.search.check_space`, which ``afsearch validate`` and ``launch`` call.
    """
    where = Where(source)
    if not isinstance(data, dict):
        raise where.error(f"a search space must be a mapping at the top level, got {show(data)}.")
    unknown = set(data) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise where.at(key).error(f"unknown key; valid keys are {choices(TOP_KEYS)}.")
    task_name, task_values, options = _task(where, data)
    space = SearchSpace(
        name=str(data.get("name", default_name)),
        task=task_name,
        task_values=task_values,
        task_options=options,
        metric=None if data.get("metric") is None else str(data["metric"]),
        mode=None if data.get("mode") is None else _enum(where, "mode", data["mode"], MODES),
        sampler=_sampler(where, data.get("sampler", "tpe")),
        scheduler=_enum(where, "scheduler", data.get("scheduler", "asha"), SCHEDULERS),
        seeds=_int(where, "seeds", data.get("seeds", 1), 1, 20),
        num_samples=_int(where, "num_samples", data.get("num_samples", 10), 1, 1_000_000),
        max_concurrent=_int(where, "max_concurrent", data.get("max_concurrent", 2), 1, 10_000),
        families=_families(where, data.get("families")),
        raw=data,
        source=source,
        sampler_options=_mapping(where, "sampler_options", data.get("sampler_options") or {}),
        prescreen=_optional(where, "prescreen", data.get("prescreen"), PrescreenOptions.parse),
        confirm=_optional(where, "confirm", data.get("confirm"), ConfirmOptions.parse),
        enqueue=parse_enqueue(where.at("enqueue"), data.get("enqueue")),
        objectives=_objectives(where, data.get("objectives")),
        grace_period=_int(where, "grace_period", data.get("grace_period", 1), 1, 10_000),
        max_failures=_int(where, "max_failures", data.get("max_failures", 0), 0, 100),
        trial_timeout_s=_timeout(where, data.get("trial_timeout_s")),
        checkpoint_every=_int(
            where, "checkpoint_every", data.get("checkpoint_every", 1), 0, 1_000_000
        ),
        checkpoint_min_seconds=_seconds(
            where, "checkpoint_min_seconds", data.get("checkpoint_min_seconds", 30.0)
        ),
        compile=_enum(where, "compile", data.get("compile", "auto"), COMPILE_MODES),
        resources=parse_resources(where.at("resources"), data.get("resources")),
        log=_log(where, data.get("log")),
    )
    probe(where, space)
    check_per_site(where, data, space)
    if space.prescreen is not None:
        try:
            check_prescreen(space, data["prescreen"])
        except AfsearchError as exc:
            raise where.at("prescreen").error(str(exc)) from None
    return space


def _task(where: Where, data: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The task's name, its searched or fixed values, and its options."""
    task_raw = data.get("task", {"name": "digits-mlp"})
    if isinstance(task_raw, str):
        task_raw = {"name": task_raw}
    if not isinstance(task_raw, dict):
        raise where.at("task").error(f"must be a task name or a mapping, got {show(task_raw)}.")
    bad = set(task_raw) - TASK_KEYS
    if bad:
        raise where.at(f"task.{sorted(bad)[0]}").error(
            f"unknown key; valid keys are {choices(TASK_KEYS)}."
        )
    values = {
        k: parse_value(where.at("task").at(k), v)
        for k, v in task_raw.items()
        if k not in ("name", "options")
    }
    options = _mapping(where, "task.options", task_raw.get("options", {}) or {})
    return str(task_raw.get("name", "digits-mlp")), values, options


def _sampler(where: Where, v: Any) -> str:
    """The strategy's name; whether one is registered under it, :func:`check_space` says."""
    if not isinstance(v, str) or not v:
        raise where.at("sampler").error(f"must be the name of a sampler, got {show(v)}.")
    return v


def _objectives(where: Where, raw: Any) -> list[tuple[str, str]]:
    """``(metric, mode)`` of each objective of a multi-objective study."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise where.at("objectives").error(
            "must be a list of {metric: NAME, mode: max|min} objectives."
        )
    objectives = []
    for i, o in enumerate(raw):
        if isinstance(o, list) and len(o) == 2:  # the short form [NAME, max|min]
            o = {"metric": o[0], "mode": o[1]}
        if not isinstance(o, dict) or "metric" not in o:
            raise where.at(f"objectives[{i}]").error(
                "must be {metric: NAME, mode: max|min} or [NAME, max|min]."
            )
        mode = _enum(where, f"objectives[{i}].mode", o.get("mode", "max"), MODES)
        objectives.append((str(o["metric"]), mode))
    return objectives


def _families(where: Where, fams: Any) -> list[Any]:
    """Each entry of ``families``, read by its family; labels must be distinct."""
    if not isinstance(fams, list) or not fams:
        raise where.at("families").error(
            "must be a non-empty list of family sub-spaces, for example "
            "[{family: swish, beta: {low: 0.5, high: 2.0}}].",
        )
    families = [
        parse_family_space(f, where.at("families").at(f"[{i}]")) for i, f in enumerate(fams)
    ]
    labels = [f.label for f in families]
    dup = {lbl for lbl in labels if labels.count(lbl) > 1}
    if dup:
        raise where.at("families").error(
            f"two entries share the label {sorted(dup)[0]!r}; give each entry a distinct 'label'.",
        )
    return families


def _log(where: Where, raw: Any) -> tuple[str, ...]:
    """The run loggers of ``log:``: a list of names (or one name); none when absent."""
    if raw in (None, False, []):
        return ()
    if isinstance(raw, str):
        named = [(where.at("log"), raw)]
    elif isinstance(raw, list):
        named = [(where.at("log").at(f"[{i}]"), name) for i, name in enumerate(raw)]
    else:
        raise where.at("log").error(
            f"must be a list of run loggers such as [mlflow, tensorboard], got {show(raw)}."
        )
    valid = run_logger_names()
    for place, name in named:
        if name not in valid:
            raise place.error(f"unknown run logger {show(name)}; valid ones are {choices(valid)}.")
    return tuple(dict.fromkeys(name for _, name in named))


def _optional(where: Where, key: str, raw: Any, parse: Any) -> Any:
    """An optional section (``prescreen:``, ``confirm:``) read by ``parse``; absent or false:
    ``None``."""
    if raw in (None, False):
        return None
    try:
        return parse(raw)
    except AfsearchError as exc:
        raise where.at(key).error(str(exc)) from None


def _mapping(where: Where, path: str, v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise where.at(path).error(f"must be a mapping, got {show(v)}.")
    return dict(v)


def _timeout(where: Where, v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise where.at("trial_timeout_s").error(
            f"must be a positive number of seconds, got {show(v)}."
        )
    return float(v)


def _seconds(where: Where, path: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf:
        raise where.at(path).error(f"must be a number of seconds of at least 0, got {show(v)}.")
    return float(v)


def _enum(where: Where, path: str, v: Any, valid: tuple[str, ...]) -> str:
    if v not in valid:
        raise where.at(path).error(f"must be {choices(valid)}, got {show(v)}.")
    return str(v)


def _int(where: Where, path: str, v: Any, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise where.at(path).error(f"must be an integer from {lo} to {hi}, got {show(v)}.")
    return v
