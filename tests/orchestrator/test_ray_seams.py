"""The members of Ray Tune's OptunaSearch that afsearch reaches into still exist (fails loudly on
a release that moves them: update afsearch/orchestrator/_ray_seams.py and its TESTED_WITH)."""

from __future__ import annotations

import ray
from ray.tune.search.optuna import OptunaSearch

from afsearch.orchestrator._ray_seams import PRIVATE_MEMBERS, TESTED_WITH, OptunaSearchSeams


def test_the_installed_ray_is_one_the_seams_were_checked_against() -> None:
    assert ".".join(ray.__version__.split(".")[:2]) in TESTED_WITH, ray.__version__


def test_optuna_search_has_the_members_the_seams_read() -> None:
    assert callable(OptunaSearch._setup_study)

    def proposer(trial):  # a define-by-run space
        trial.suggest_float("x", 0.0, 1.0)

    searcher = OptunaSearchSeams(space=proposer, metric="m", mode="max")
    for name in PRIVATE_MEMBERS:
        assert hasattr(searcher, name), name
    assert searcher.proposer is proposer
    assert searcher.pending == {} and searcher.told == set()
    assert searcher.optuna_study is not None
