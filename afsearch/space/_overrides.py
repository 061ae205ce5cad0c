"""A space as one launch runs it: the command line's values in place of the file's."""

from __future__ import annotations

import dataclasses
from typing import Any

from afsearch.exceptions import AfsearchError, choices
from afsearch.space._load import parse_space
from afsearch.space._resources import check_cpus, check_gpus
from afsearch.space._space import SearchSpace
from afsearch.trial import run_logger_names


def with_overrides(
    space: SearchSpace,
    *,
    task: str | None = None,
    num_samples: int | None = None,
    max_failures: int | None = None,
    trial_timeout_s: float | None = None,
    cpus_per_trial: float | None = None,
    gpus_per_trial: float | None = None,
    log: tuple[str, ...] | list[str] | None = None,
) -> SearchSpace:
    """``space`` with the command line's values in place of its own, each one checked."""
    if task is not None:
        raw = dict(space.raw)
        task_raw = raw.get("task", {})
        task_raw = {"name": task_raw} if isinstance(task_raw, str) else dict(task_raw or {})
        task_raw["name"] = task
        raw["task"] = task_raw
        space = parse_space(raw, source=space.source, default_name=space.name)
    changes: dict[str, Any] = {}
    if num_samples is not None:
        if num_samples < 1:
            raise AfsearchError(f"--num-samples must be at least 1, got {num_samples}.")
        changes["num_samples"] = num_samples
    if max_failures is not None:
        if max_failures < 0:
            raise AfsearchError(f"--max-failures must be at least 0, got {max_failures}.")
        changes["max_failures"] = max_failures
    if trial_timeout_s is not None:
        if trial_timeout_s <= 0:
            raise AfsearchError(f"--trial-timeout must be above 0 seconds, got {trial_timeout_s}.")
        changes["trial_timeout_s"] = trial_timeout_s
    resources: dict[str, float] = {}
    if cpus_per_trial is not None:
        resources["cpus_per_trial"] = check_cpus(cpus_per_trial, "--cpus-per-trial")
    if gpus_per_trial is not None:
        resources["gpus_per_trial"] = check_gpus(gpus_per_trial, "--gpus-per-trial")
    if resources:
        changes["resources"] = dataclasses.replace(space.resources, **resources)
    if log is not None:
        valid = run_logger_names()
        bad = [name for name in log if name not in valid]
        if bad:
            raise AfsearchError(f"--log must be {choices(valid)}, got {bad[0]!r}.")
        changes["log"] = tuple(dict.fromkeys(log))
    return dataclasses.replace(space, **changes) if changes else space
