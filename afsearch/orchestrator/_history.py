"""A study's finished trials as the proposing strategies read them (evolution, prescreen)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scored:
    """A finished trial: its activation config and its value (higher is better)."""

    activation: Mapping[str, Any]
    score: float


def scored_trials(rows: Sequence[Any], mode: str) -> list[Scored]:
    """The trials of ``rows`` that have a value, in order, their value signed so that higher
    is better whatever the study's ``mode``."""
    sign = 1.0 if mode == "max" else -1.0
    return [
        Scored(t.config["activation"], sign * t.metric_value)
        for t in rows
        if t.metric_value is not None and isinstance(t.config, dict)
    ]
