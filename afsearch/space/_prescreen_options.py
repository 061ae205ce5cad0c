"""The ``prescreen:`` key of a space: scoring candidates before training them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import KNOWN

MODELS = ("gp",)
ACQUISITIONS = ("ucb", "ei")
FEATURES = ("outputs", "init")
DEFAULTS: Mapping[str, Any] = {
    "pool": 5000,
    "anchors": ("relu", "gelu", "silu"),
    "model": "gp",
    "acquisition": "ucb",
    "kappa": 2.0,
    "features": ("outputs",),
    "proposals": 8,
    "floor": 0.0,
}


@dataclass(frozen=True)
class PrescreenOptions:
    pool: int = 5000
    anchors: tuple[str, ...] = ("relu", "gelu", "silu")
    model: str = "gp"
    acquisition: str = "ucb"
    kappa: float = 2.0
    features: tuple[str, ...] = ("outputs",)
    #: How many proposals of the sampler (TPE's draws, evolution's children) the surrogate
    #: ranks for each trial; ``sampler: random`` chooses from the pool instead.
    proposals: int = 8
    #: Share of the :attr:`floor_window` most recent trials each kind of function keeps.
    floor: float = 0.0
    #: The trials ``floor`` counts kinds in: the most recent ones, as many as the default
    #: population of ``sampler: evolution``.
    floor_window: ClassVar[int] = 16

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
        if bad or "outputs" not in features:
            raise AfsearchError(
                f"features of prescreen must list 'outputs', and may add 'init', "
                f"got {merged['features']!r}."
            )
        proposals = merged["proposals"]
        if (
            isinstance(proposals, bool)
            or not isinstance(proposals, int)
            or not 2 <= proposals <= 256
        ):
            raise AfsearchError(
                f"proposals of prescreen must be an integer from 2 to 256, got {proposals!r}."
            )
        floor = merged["floor"]
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 0.5:
            raise AfsearchError(
                f"floor of prescreen must be a share of the recent trials from 0 to 0.5, "
                f"got {floor!r}."
            )
        return cls(
            int(pool),
            tuple(anchors),
            merged["model"],
            merged["acquisition"],
            float(kappa),
            tuple(dict.fromkeys(features)),
            proposals,
            float(floor),
        )


def check_prescreen(space: Any, raw: Any) -> None:
    """The checks of ``prescreen:`` that need the whole space: a ``pool`` no larger than a
    space whose candidates can be counted, and a task whose network can be built (the init
    signal is measured in it). Raises AfsearchError."""
    from afsearch.activations import family_grid
    from afsearch.space._sample import task_settings

    options = space.prescreen
    if options is None:
        return
    if isinstance(raw, Mapping) and "pool" in raw:
        try:
            n = sum(1 for fs in space.families for _ in family_grid(fs))
        except AfsearchError:  # ranges and trees: more functions than any pool
            n = None
        if n is not None and options.pool > n:
            raise AfsearchError(
                f"pool of prescreen is {options.pool}, larger than the space, which holds "
                f"{n} candidates; set pool to at most {n}."
            )
    from torch import nn

    from afsearch.tasks import get_task

    try:
        task = get_task(space.task, task_settings(space, {}), search_path=space.folder)
        task.build_model(nn.ReLU)
    except AfsearchError:
        raise
    except Exception as exc:  # a user task's network: any error means it cannot be built
        raise AfsearchError(
            f"prescreen needs the network of task {space.task!r}, which could not be built: "
            f"{type(exc).__name__}: {exc}."
        ) from None
