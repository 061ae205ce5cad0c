"""The ``resources:`` key of a space: what each trial asks of Ray.

``resources: {cpus_per_trial: 2, gpus_per_trial: 0.5}`` gives every trial two CPUs and half a
GPU (Ray then runs two trials on each GPU). ``afsearch launch --cpus-per-trial`` and
``--gpus-per-trial`` override the file's values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from afsearch.domains import Where, show
from afsearch.exceptions import AfsearchError, choices

#: The keys of ``resources:``.
KEYS = ("cpus_per_trial", "gpus_per_trial")


@dataclass(frozen=True)
class Resources:
    """CPUs and GPUs each trial asks of Ray; fractions share a device between trials."""

    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0


def parse_resources(where: Where, raw: Any) -> Resources:
    """The ``resources:`` mapping of a space file (absent: one CPU and no GPU per trial)."""
    if raw is None:
        return Resources()
    if not isinstance(raw, dict):
        raise where.error(f"must be a mapping such as {{gpus_per_trial: 0.5}}, got {show(raw)}.")
    unknown = sorted(str(k) for k in set(raw) - set(KEYS))
    if unknown:
        raise where.at(unknown[0]).error(f"unknown key; valid keys are {choices(KEYS)}.")
    try:
        return Resources(
            check_cpus(raw.get("cpus_per_trial", 1.0), "cpus_per_trial"),
            check_gpus(raw.get("gpus_per_trial", 0.0), "gpus_per_trial"),
        )
    except AfsearchError as exc:
        raise where.error(str(exc)) from None


def check_cpus(value: Any, name: str) -> float:
    """CPUs per trial: a finite number above 0 (fractions let trials share a CPU)."""
    if not _number(value) or value <= 0:
        raise AfsearchError(
            f"{name} must be a number of CPUs above 0 (0.5 runs two trials on each CPU), "
            f"got {show(value)}."
        )
    return float(value)


def check_gpus(value: Any, name: str) -> float:
    """GPUs per trial: 0, a fraction of one GPU, or a whole number of GPUs (Ray's rule)."""
    if not _number(value) or value < 0 or (value > 1 and not float(value).is_integer()):
        raise AfsearchError(
            f"{name} must be 0, a fraction of one GPU (0.5 runs two trials on each GPU) or a "
            f"whole number of GPUs, got {show(value)}."
        )
    return float(value)


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
