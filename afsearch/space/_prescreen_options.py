"""The ``prescreen:`` key of a space: scoring candidates before training them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import KNOWN

MODELS = ("gp",)
ACQUISITIONS = ("ucb", "ei")
FEATURES = ("outputs",)
DEFAULTS: Mapping[str, Any] = {
    "pool": 5000,
    "anchors": ("relu", "gelu", "silu"),
    "model": "gp",
    "acquisition": "ucb",
    "kappa": 2.0,
    "features": ("outputs",),
}


@dataclass(frozen=True)
class PrescreenOptions:
    pool: int = 5000
    anchors: tuple[str, ...] = ("relu", "gelu", "silu")
    model: str = "gp"
    acquisition: str = "ucb"
    kappa: float = 2.0
    features: tuple[str, ...] = ("outputs",)

    @classmethod
    def parse(cls, raw: Any) -> PrescreenOptions:
        """The options of ``prescreen:`` (``true`` for the defaults), each checked."""
        if raw is True:
            raw = {}
        if not isinstance(raw, Mapping):
            raise AfsearchError(
                f"prescreen must be true or a mapping of its options ({choices(DEFAULTS)}), "
                f"got {raw!r}."
            )
        unknown = set(raw) - set(DEFAULTS)
        if unknown:
            raise AfsearchError(
                f"prescreen has no option {sorted(unknown)[0]!r}; its options are "
                f"{choices(DEFAULTS)}."
            )
        merged = {**DEFAULTS, **raw}
        pool = merged["pool"]
        if isinstance(pool, bool) or not isinstance(pool, int) or not 10 <= pool <= 200_000:
            raise AfsearchError(
                f"pool of prescreen must be an integer from 10 to 200000, got {pool!r}."
            )
        anchors = merged["anchors"]
        if isinstance(anchors, str) or not isinstance(anchors, Sequence):
            raise AfsearchError(f"anchors of prescreen must be a list, got {anchors!r}.")
        bad = [a for a in anchors if a not in KNOWN]
        if bad:
            raise AfsearchError(
                f"anchors of prescreen names {bad[0]!r}, which is not a standard activation; "
                f"valid names are {choices(KNOWN)}."
            )
        for key, valid in (("model", MODELS), ("acquisition", ACQUISITIONS)):
            if merged[key] not in valid:
                raise AfsearchError(
                    f"{key} of prescreen must be {choices(valid)}, got {merged[key]!r}."
                )
        kappa = merged["kappa"]
        if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or not 0 <= kappa <= 100:
            raise AfsearchError(
                f"kappa of prescreen must be a number from 0 to 100, got {kappa!r}."
            )
        features = merged["features"]
        if isinstance(features, str):
            features = [features]
        bad = [f for f in features if f not in FEATURES]
        if bad or not features:
            raise AfsearchError(
                f"features of prescreen must list {choices(FEATURES)}, got {merged['features']!r}."
            )
        return cls(
            int(pool),
            tuple(anchors),
            merged["model"],
            merged["acquisition"],
            float(kappa),
            tuple(features),
        )
