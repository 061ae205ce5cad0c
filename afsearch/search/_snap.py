"""The nearest function of a table to a proposed activation config, by the config's values.

A strategy replayed on a table (:mod:`._replay`) proposes configs of the table's space, almost
none of which were trained: a depth-2 operator tree is one of hundreds of thousands, a Swish beta
one of a continuum. :class:`Snapper` maps each proposal to the table function whose config is
nearest among those of its family not tried yet. The distance compares the configs value by
value (a config flattened to paths such as ``unit.left.of.binary``): a choice or a flag counts 1
when it differs, a number the share of the table's range between the two values (on a log scale
when its values are positive and span more than a factor of 10), and a value one config has and
the other lacks counts 1. Ties go to a random order fixed per replay. A config equal to a table
function's is that function.

Why the config's values rather than the function's outputs: a sampler learns in the space of its
parameters (TPE's densities, evolution's mutations), so the nearest function in that space is
what its proposal means; and it costs microseconds, where building a proposal to compare its
outputs costs milliseconds, too much for hundreds of replayed studies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: A value one config has and the other lacks, or a choice that differs.
MISMATCH = 1.0


def config_key(config: Mapping[str, Any]) -> str:
    """A config as canonical JSON: equal configs, equal keys."""
    return json.dumps(config, sort_keys=True, default=str)


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """``path -> leaf`` of a config; ``family`` left out (it picks the group). Numbers stay
    numbers (path suffix ``#n``), anything else is compared as text (``#c``)."""
    out: dict[str, Any] = {}
    if isinstance(config, Mapping):
        items: Any = ((str(k), v) for k, v in config.items() if not (k == "family" and not prefix))
    elif isinstance(config, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(config))
    else:
        is_number = isinstance(config, (int, float)) and not isinstance(config, bool)
        if is_number and math.isfinite(float(config)):
            return {f"{prefix}#n": float(config)}
        return {f"{prefix}#c": json.dumps(config, default=str)}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
    return out


@dataclass
class _Group:
    """The table functions of one family, their configs as columns."""

    rows: np.ndarray
    choices: dict[str, tuple[np.ndarray, dict[str, int]]] = field(default_factory=dict)
    numbers: dict[str, tuple[np.ndarray, float, float, bool]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[int], flat: list[dict[str, Any]]) -> _Group:
        group = cls(np.asarray(rows, dtype=int))
        paths = sorted({p for f in flat for p in f})
        for path in paths:
            values = [f.get(path) for f in flat]
            if path.endswith("#c"):
                codes: dict[str, int] = {}
                column = [-1 if v is None else codes.setdefault(v, len(codes)) for v in values]
                group.choices[path] = (np.asarray(column), codes)
                continue
            x = np.array([np.nan if v is None else v for v in values], dtype=float)
            present = x[~np.isnan(x)]
            lo, hi = float(present.min()), float(present.max())
            log = lo > 0 and hi / lo > 10
            if log:
                x, lo, hi = np.log(x), math.log(lo), math.log(hi)
            group.numbers[path] = (x, lo, hi, log)
        return group

    def distances(self, flat: Mapping[str, Any]) -> np.ndarray:
        d = np.zeros(len(self.rows))
        for path, (codes, known) in self.choices.items():
            mine = known.get(flat[path], -2) if path in flat else -1
            d += np.where(codes == mine, 0.0, MISMATCH)
        for path, (x, lo, hi, log) in self.numbers.items():
            if path not in flat:
                d += np.where(np.isnan(x), 0.0, MISMATCH)
                continue
            v = float(flat[path])
            if log:
                v = math.log(v) if v > 0 else lo - (hi - lo)
            span = hi - lo
            gap = np.abs(x - v) / span if span > 0 else np.where(x == v, 0.0, MISMATCH)
            d += np.where(np.isnan(x), MISMATCH, np.minimum(gap, MISMATCH))
        extra = sum(1 for p in flat if p not in self.choices and p not in self.numbers)
        return d + MISMATCH * extra


class Snapper:
    """Maps a config to a table function: its own if the table holds it, else the nearest
    untried one of its family (see the module docstring); ``seed`` orders the ties."""

    def __init__(self, configs: Sequence[Mapping[str, Any]], seed: int = 0) -> None:
        self.size = len(configs)
        self.exact = {config_key(c): i for i, c in enumerate(configs)}
        self.order = np.random.default_rng(seed).permutation(self.size)
        by_family: dict[str, list[int]] = {}
        for i, c in enumerate(configs):
            by_family.setdefault(str(c.get("family")), []).append(i)
        self.groups = {
            family: _Group.of(rows, [flatten(configs[i]) for i in rows])
            for family, rows in by_family.items()
        }

    def snap(self, config: Mapping[str, Any], tried: np.ndarray) -> int:
        """The table row of ``config``: its own, else the nearest of its family among those
        ``tried`` (a boolean mask over the rows) leaves open, else the nearest tried one. A
        family the table lacks maps to the first open row of the random order."""
        own = self.exact.get(config_key(config))
        if own is not None:
            return own
        group = self.groups.get(str(config.get("family")))
        if group is None:
            open_ = self.order[~tried[self.order]]
            return int(open_[0] if open_.size else self.order[0])
        d = group.distances(flatten(config))
        untried = ~tried[group.rows]
        if untried.any():
            d = np.where(untried, d, np.inf)
        best = np.flatnonzero(d <= d.min() + 1e-12)
        rows = group.rows[best]
        return int(rows[np.argmin(self.order[rows])])
