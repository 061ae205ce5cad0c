"""The values of a search space: fixed, a :class:`Choice` of options, or a :class:`Range`.

Read from YAML by :func:`parse_value`, drawn through a :class:`Suggester` (Optuna's trial is
one) by :func:`suggest`, and enumerated for a grid by :func:`grid_options`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from afsearch.domains._where import Where, show
from afsearch.exceptions import AfsearchError, number_hint


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


class Suggester(Protocol):
    """What values are drawn through (Optuna's ``Trial`` satisfies it)."""

    def suggest_float(
        self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None
    ) -> float: ...
    def suggest_int(
        self, name: str, low: int, high: int, *, log: bool = False, step: int = 1
    ) -> int: ...
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


def parse_value(where: Where, v: Any) -> Value:
    """A YAML value: a list is a choice, ``{low, high[, log, step]}`` a range, ``{value: X}``
    the literal X, anything else fixed."""
    if isinstance(v, list):
        if not v:
            raise where.error("an empty list offers no choice; give at least one value.")
        return Choice(tuple(literal(o) for o in v))
    if isinstance(v, dict) and "value" in v and len(v) == 1:
        return v["value"]
    if isinstance(v, dict) and ("low" in v or "high" in v):
        extra = set(v) - {"low", "high", "log", "step"}
        if extra or "low" not in v or "high" not in v:
            raise where.error(
                f"a range is {{low: NUMBER, high: NUMBER, log: BOOL, step: NUMBER}}, got {show(v)}."
            )
        lo, hi = v["low"], v["high"]
        for name, x in (("low", lo), ("high", hi)):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise where.at(name).error(f"must be a number, got {show(x)}{number_hint(x)}.")
        if lo > hi:
            raise where.error(f"low must not exceed high, got low={lo}, high={hi}.")
        log = bool(v.get("log", False))
        if log and lo <= 0:
            raise where.error(f"a log range needs low > 0, got low={lo}.")
        integer = isinstance(lo, int) and isinstance(hi, int)
        return Range(float(lo), float(hi), log, v.get("step"), integer)
    if isinstance(v, dict) and "choices" in v and len(v) == 1:
        return parse_value(where, list(v["choices"]))
    return v


def literal(v: Any) -> Any:
    return v["value"] if isinstance(v, dict) and set(v) == {"value"} else v


def _encode(v: Any) -> Any:
    # Optuna stores categorical choices as None/bool/int/float/str only.
    return v if v is None or isinstance(v, (bool, int, float, str)) else repr(v)


def suggest(trial: Suggester, name: str, v: Value) -> Any:
    """The value ``v`` drawn through ``trial`` under ``name`` (a fixed value as it is)."""
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


def grid_options(v: Value, path: str) -> list[Any]:
    """Every value ``v`` can take, for ``sampler: grid``."""
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


def grid_values(values: Mapping[str, Value], path: str) -> Iterator[dict[str, Any]]:
    """Every combination of ``values``, for ``sampler: grid``."""
    keys = list(values)
    for combo in itertools.product(*[grid_options(values[k], f"{path}.{k}") for k in keys]):
        yield dict(zip(keys, combo))


def value_options(v: Value) -> list[Any] | None:
    """The values a validation probe tries: each option of a choice, both ends of a range."""
    if isinstance(v, Choice):
        return list(v.options)
    if isinstance(v, Range):
        ends = [v.low, v.high]
        return [int(e) for e in ends] if v.integer else ends
    return None
