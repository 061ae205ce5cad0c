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
from afsearch.space._evolution_options import EvolutionOptions
from afsearch.space._per_site import check_per_site
from afsearch.space._prescreen_options import PrescreenOptions, check_prescreen
from afsearch.space._sample import grid_configs, probe
from afsearch.space._sampler_options import check_sampler_options
from afsearch.space._space import (
    COMPILE_MODES,
    SAMPLERS,
    SCHEDULERS,
    TASK_KEYS,
    TOP_KEYS,
    SearchSpace,
)


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
    where = Where(source)
    if not isinstance(data, dict):
        raise where.error(f"a search space must be a mapping at the top level, got {show(data)}.")
    unknown = set(data) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise where.at(key).error(f"unknown key; valid keys are {choices(TOP_KEYS)}.")

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
    task_name = str(task_raw.get("name", "digits-mlp"))
    task_values = {
        k: parse_value(where.at("task").at(k), v)
        for k, v in task_raw.items()
        if k not in ("name", "options")
    }
    options = task_raw.get("options", {}) or {}
    if not isinstance(options, dict):
        raise where.at("task.options").error(f"must be a mapping, got {show(options)}.")

    sampler = _enum(where, "sampler", data.get("sampler", "tpe"), SAMPLERS)
    scheduler = _enum(where, "scheduler", data.get("scheduler", "asha"), SCHEDULERS)
    mode = data.get("mode")
    if mode is not None:
        mode = _enum(where, "mode", mode, ("max", "min"))
    objectives: list[tuple[str, str]] = []
    if "objectives" in data and sampler != "nsga2":
        raise where.at("objectives").error(
            f"only sampler 'nsga2' optimises several objectives, and the sampler is {sampler!r}; "
            "set sampler: nsga2, or give the one metric to optimise as metric: NAME.",
        )
    if sampler == "nsga2":
        raw_obj = data.get("objectives")
        if not isinstance(raw_obj, list) or len(raw_obj) < 2:
            raise where.at("objectives").error(
                "sampler 'nsga2' needs a list of at least two {metric: NAME, mode: max|min} "
                "objectives, for example accuracy and seconds per epoch.",
            )
        for i, o in enumerate(raw_obj):
            if isinstance(o, list) and len(o) == 2:  # the short form [NAME, max|min]
                o = {"metric": o[0], "mode": o[1]}
            if not isinstance(o, dict) or "metric" not in o:
                raise where.at(f"objectives[{i}]").error(
                    "must be {metric: NAME, mode: max|min} or [NAME, max|min]."
                )
            objectives.append(
                (
                    str(o["metric"]),
                    _enum(where, f"objectives[{i}].mode", o.get("mode", "max"), ("max", "min")),
                )
            )
        if scheduler != "none":
            raise where.at("scheduler").error(
                "must be 'none' with sampler 'nsga2' (ASHA stops trials "
                "on one metric, NSGA-II ranks several).",
            )

    sampler_options = data.get("sampler_options") or {}
    if not isinstance(sampler_options, dict):
        raise where.at("sampler_options").error(f"must be a mapping, got {show(sampler_options)}.")
    try:
        if sampler == "evolution":
            EvolutionOptions.parse(sampler_options)
        else:
            check_sampler_options(sampler, sampler_options)
    except AfsearchError as exc:
        raise where.at("sampler_options").error(str(exc)) from None

    prescreen = None
    if data.get("prescreen") not in (None, False):
        try:
            prescreen = PrescreenOptions.parse(data["prescreen"])
        except AfsearchError as exc:
            raise where.at("prescreen").error(str(exc)) from None
        if sampler == "grid":
            raise where.at("prescreen").error(
                "a grid tries every candidate, so there is nothing to prescreen; use another "
                "sampler or leave prescreen out."
            )

    confirm = None
    if data.get("confirm") not in (None, False):
        try:
            confirm = ConfirmOptions.parse(data["confirm"])
        except AfsearchError as exc:
            raise where.at("confirm").error(str(exc)) from None

    enqueue = parse_enqueue(where.at("enqueue"), data.get("enqueue"))
    if enqueue and sampler == "grid":
        raise where.at("enqueue").error(
            "a grid tries every candidate of the space in its own order; use another sampler "
            "or leave enqueue out."
        )

    fams = data.get("families")
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

    space = SearchSpace(
        name=str(data.get("name", default_name)),
        task=task_name,
        task_values=task_values,
        task_options=dict(options),
        metric=None if data.get("metric") is None else str(data["metric"]),
        mode=mode,
        sampler=sampler,
        scheduler=scheduler,
        seeds=_int(where, "seeds", data.get("seeds", 1), 1, 20),
        num_samples=_int(where, "num_samples", data.get("num_samples", 10), 1, 1_000_000),
        max_concurrent=_int(where, "max_concurrent", data.get("max_concurrent", 2), 1, 10_000),
        families=families,
        raw=data,
        source=source,
        sampler_options=dict(sampler_options),
        prescreen=prescreen,
        confirm=confirm,
        enqueue=enqueue,
        objectives=objectives,
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
    )
    probe(where, space)
    check_per_site(where, data, space)
    if prescreen is not None:
        try:
            check_prescreen(space, data["prescreen"])
        except AfsearchError as exc:
            raise where.at("prescreen").error(str(exc)) from None
    if sampler == "grid":
        try:
            n = sum(1 for _ in grid_configs(space))
        except AfsearchError as exc:
            raise where.at("sampler").error(str(exc)) from None
        if n > 10_000:
            raise where.at("sampler").error(
                f"grid over {n} candidates is too large (at most 10000)."
            )
    return space


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
