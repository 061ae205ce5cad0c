"""What happens after a search: stored trials back to candidates, exports, fresh-seed
re-training with Welch's t-test, plots.

>>> from afsearch.results import export_trial, trial_candidate
>>> export_trial("quickstart/3", out_dir="exported")  # doctest: +SKIP
"""

from typing import TYPE_CHECKING, Any

from afsearch.results._export import EXPORT_DIR, Exported, export_activation, export_trial
from afsearch.results._plots import plot_trial, save_figure
from afsearch.results._rerun import Comparison, compare, rerun
from afsearch.results._study_analysis import (
    StudyBest,
    best_so_far,
    compare_studies,
    importances,
    plot_study,
)
from afsearch.results._trial import channel_summary, trial_candidate, trial_channel_values

if TYPE_CHECKING:
    from afsearch.confirm import FRESH_SEED_BASE, SeedRun, fresh_seeds, welch

#: The confirm stage's seed helpers, given here too; imported on first use (PEP 562), so that
#: exporting or plotting a trial loads no torch or SciPy.
_FROM_CONFIRM = ("FRESH_SEED_BASE", "SeedRun", "fresh_seeds", "welch")


def __getattr__(name: str) -> Any:
    if name in _FROM_CONFIRM:
        import afsearch.confirm

        return getattr(afsearch.confirm, name)
    raise AttributeError(f"module 'afsearch.results' has no attribute {name!r}")


__all__ = [
    "EXPORT_DIR",
    "FRESH_SEED_BASE",
    "Comparison",
    "Exported",
    "SeedRun",
    "StudyBest",
    "best_so_far",
    "channel_summary",
    "compare",
    "compare_studies",
    "export_activation",
    "export_trial",
    "fresh_seeds",
    "importances",
    "plot_study",
    "plot_trial",
    "rerun",
    "save_figure",
    "trial_candidate",
    "trial_channel_values",
    "welch",
]
