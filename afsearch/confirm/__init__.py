"""The confirm stage: a search's best candidates and standard baselines trained again on seeds
the search never used, judged with Welch's t-test and Holm's correction.

It trains through a :data:`Runner` it is given (in this process by default, on Ray when
``afsearch launch`` passes ``afsearch.orchestrator.ray_runner``), so it needs no Ray itself.
Names are imported when first used (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from afsearch._lazy import lazy_surface

if TYPE_CHECKING:
    from afsearch.confirm._arms import BASELINE, CANDIDATE, Arm
    from afsearch.confirm._confirm import (
        ConfirmResult,
        confirm_study,
        plan,
        refused_baselines,
        top_distinct,
    )
    from afsearch.confirm._judge import judge
    from afsearch.confirm._seeds import (
        FRESH_SEED_BASE,
        Runner,
        SeedJob,
        SeedRun,
        fresh_seeds,
        run_here,
        train_seed,
    )
    from afsearch.confirm._stats import (
        CONFIDENCE,
        choose_scale,
        difference_interval,
        holm,
        welch,
    )

_HOMES = {
    **dict.fromkeys(("BASELINE", "CANDIDATE", "Arm"), "_arms"),
    "judge": "_judge",
    **dict.fromkeys(
        ("ConfirmResult", "confirm_study", "plan", "refused_baselines", "top_distinct"),
        "_confirm",
    ),
    **dict.fromkeys(
        (
            "FRESH_SEED_BASE",
            "Runner",
            "SeedJob",
            "SeedRun",
            "fresh_seeds",
            "run_here",
            "train_seed",
        ),
        "_seeds",
    ),
    **dict.fromkeys(
        ("CONFIDENCE", "choose_scale", "difference_interval", "holm", "welch"), "_stats"
    ),
}

__all__ = [
    "BASELINE",
    "CANDIDATE",
    "CONFIDENCE",
    "FRESH_SEED_BASE",
    "Arm",
    "ConfirmResult",
    "Runner",
    "SeedJob",
    "SeedRun",
    "choose_scale",
    "confirm_study",
    "difference_interval",
    "fresh_seeds",
    "holm",
    "judge",
    "plan",
    "refused_baselines",
    "run_here",
    "top_distinct",
    "train_seed",
    "welch",
]

__getattr__, __dir__ = lazy_surface(__name__, _HOMES)
