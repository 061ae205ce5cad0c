"""Pareto ranks of a multi-objective study's trials: rank 1 is the front (no trial is at least
as good on every objective and better on one), rank 2 the front of the rest, and so on
(non-dominated sorting, as NSGA-II ranks its population)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def objectives_of(space: Any) -> list[tuple[str, str]]:
    """``(metric, mode)`` of each objective a study's stored space names (none: one metric)."""
    raw = space.get("objectives") if isinstance(space, Mapping) else None
    if not isinstance(raw, list):
        return []
    goals = []
    for o in raw:
        if isinstance(o, Mapping) and "metric" in o:
            goals.append((str(o["metric"]), str(o.get("mode", "max"))))
        elif isinstance(o, (list, tuple)) and len(o) == 2:
            goals.append((str(o[0]), str(o[1])))
    return goals


def pareto_ranks(
    values: Sequence[Sequence[float | None] | None], modes: Sequence[str]
) -> list[int | None]:
    """The Pareto rank of each trial's ``values`` under ``modes`` (``max``/``min`` per
    objective); ``None`` for a trial without every value (failed, or stored before values
    were)."""
    signs = [1.0 if m == "max" else -1.0 for m in modes]
    points = {
        i: [s * float(x) for s, x in zip(signs, v) if x is not None]
        for i, v in enumerate(values)
        if v is not None and len(v) == len(modes) and all(x is not None for x in v)
    }
    ranks: list[int | None] = [None] * len(values)
    rank, left = 1, set(points)
    while left:
        front = {
            i for i in left if not any(_dominates(points[j], points[i]) for j in left if j != i)
        }
        for i in front:
            ranks[i] = rank
        left -= front
        rank += 1
    return ranks


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether ``a`` (higher is better everywhere) is at least ``b`` everywhere and above once."""
    return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))
