"""Niches: the kinds of function a search keeps alive (evolution's ``floor``).

Left alone, a population converges on the first kind of function that trains well: on a
teacher-student task whose teacher is an operator tree, a search over every family of the README
settled on Swish and never trained the tree. A floor keeps each kind of the space
(:attr:`afsearch.activations.BaseFamily.kind`: operator trees, parametric families, SLAF series,
rational units, ensembles) at a minimum number of members among the most recent trials: when a
kind falls below it, the next child is of that kind. A space of one kind is unaffected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from afsearch.activations import kind_of
from afsearch.domains import FamilySpace


def space_kinds(families: Sequence[FamilySpace]) -> list[str]:
    """The kinds of the space's families, in the order they first appear."""
    kinds: list[str] = []
    for fs in families:
        kind = kind_of({"family": fs.family})
        if kind not in kinds:
            kinds.append(kind)
    return kinds


def floor_count(share: float, population: int) -> int:
    """Members each kind keeps among ``population``: ``share`` of it, at least one if any."""
    if share <= 0:
        return 0
    return max(1, math.floor(share * population))


def short_kind(
    recent: Sequence[Mapping[str, Any]], kinds: Sequence[str], minimum: int
) -> str | None:
    """The kind of ``kinds`` with fewer than ``minimum`` members among ``recent`` (the most
    recent trials' configs, oldest first), or None: the kind furthest below first, then the one
    seen longest ago, then the space's order. Deterministic, so every alternative proposed for
    one trial is of the same kind."""
    if minimum <= 0 or len(kinds) < 2:
        return None
    seen = [kind_of(c) for c in recent]
    counts = {k: seen.count(k) for k in kinds}
    short = [k for k in kinds if counts[k] < minimum]
    if not short:
        return None
    last = {k: max((i for i, s in enumerate(seen) if s == k), default=-1) for k in kinds}
    return min(short, key=lambda k: (counts[k], last[k], kinds.index(k)))


def kind_due(
    tried: Sequence[Mapping[str, Any]], kinds: Sequence[str], share: float, window: int
) -> str | None:
    """The kind the next trial must be of so that each of ``kinds`` keeps ``share`` of the
    ``window`` most recent trials (``tried``, oldest first, the next trial among them), or None."""
    recent = list(tried)[max(0, len(tried) - window + 1) :]
    return short_kind(recent, kinds, floor_count(share, window))
