"""A study's finished trials as the proposing strategies read them (evolution, prescreen)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scored:
    """A finished trial: its activation config and its value (higher is better)."""

    activation: Mapping[str, Any]
    score: float


def scored_trials(rows: Sequence[Any], mode: str) -> list[Scored]:
    """The trials of ``rows`` that have a finite value, in order, their value signed so that
    higher is better whatever the study's ``mode`` (a NaN is no value: it would win or lose a
    tournament at random)."""
    sign = 1.0 if mode == "max" else -1.0
    return [
        Scored(t.config["activation"], sign * t.metric_value)
        for t in rows
        if t.metric_value is not None
        and math.isfinite(t.metric_value)
        and isinstance(t.config, dict)
    ]
