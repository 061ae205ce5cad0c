"""The two sides of a confirmation: the search's candidates and the standard activations they
face, each an :class:`Arm` with the activation and settings it trains with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CANDIDATE, BASELINE = "candidate", "baseline"


@dataclass(frozen=True)
class Arm:
    """One side of the confirmation: a candidate of the search (``arm`` its activation id) or a
    baseline (``arm`` its name), with the activation and task settings it trains with."""

    kind: str
    arm: str
    activation: Mapping[str, Any]
    settings: Any
    trial_id: int | None = None
    #: The seeds the search trained this candidate on (none for a baseline).
    search_seeds: tuple[int, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.arm)
