"""A study's confirmation in the store: runs, verdicts, and the one rule for a study's best."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from afsearch.exceptions import AfsearchError
from afsearch.store import (
    TrialStore,
    confirm_runs,
    confirmation,
    studies,
    study_best,
    trial,
)
from afsearch.store._models import ConfirmRunModel
from tests.store.helpers import add_trial, make_study

OPTIONS = {"top": 2, "seeds": [10000, 10001], "against": ["relu", "tanh"]}


def verdict(kind: str, arm: str, mean: float, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {"kind": kind, "arm": arm, "n": 2, "mean": mean, "std": 0.01}
    base["verdict"] = "baseline" if kind == "baseline" else "tie"
    return {**base, **extra}


def test_a_run_stored_twice_is_one_run(store: TrialStore) -> None:
    make_study(store)
    tid = add_trial(store, "demo", "completed", 0.9)
    for value in (0.5, 0.75):  # the second write replaces the first
        store.record_confirm_run(
            "demo",
            kind="candidate",
            arm="af-1",
            seed=10000,
            trial_id=tid,
            metric_value=value,
            metrics={"test_accuracy": value},
            duration_s=1.5,
        )
    store.record_confirm_run(
        "demo", kind="baseline", arm="relu", seed=10000, diverged=True, metric_value=float("nan")
    )
    runs = confirm_runs("demo", store)
    assert [(r.kind, r.arm, r.seed) for r in runs] == [
        ("baseline", "relu", 10000),
        ("candidate", "af-1", 10000),
    ]
    assert runs[0].diverged and runs[0].metric_value is None  # NaN is kept as NULL
    assert (runs[1].metric_value, runs[1].trial_id, runs[1].metrics) == (
        0.75,
        tid,
        {"test_accuracy": 0.75},
    )
    with store.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ConfirmRunModel)) == 2


def test_bad_kind_or_verdict_is_refused(store: TrialStore) -> None:
    make_study(store)
    with pytest.raises(
        AfsearchError, match="kind of a confirmation must be 'baseline', 'candidate'"
    ):
        store.record_confirm_run("demo", kind="winner", arm="a", seed=1)
    with pytest.raises(AfsearchError, match="verdict must be 'baseline', 'better', 'tie' or"):
        store.record_verdicts("demo", [verdict("candidate", "a", 1.0, verdict="won")], OPTIONS)


def test_the_best_is_the_confirmed_best_once_a_confirmation_exists(store: TrialStore) -> None:
    make_study(store)
    lucky = add_trial(store, "demo", "completed", 0.99)  # the best single-seed trial
    steady = add_trial(store, "demo", "completed", 0.95)
    assert study_best("demo", store).id == lucky  # type: ignore[union-attr]
    assert confirmation("demo", store) == []
    assert studies(store)[0].confirmed_trial is None
    store.record_verdicts(
        "demo",
        [
            verdict("baseline", "tanh", 0.90),
            verdict("candidate", "af-lucky", 0.93, trial_id=lucky, rank=2),
            verdict("baseline", "relu", 0.94),
            verdict(
                "candidate",
                "af-steady",
                0.96,
                trial_id=steady,
                rank=1,
                baseline="relu",
                delta=0.02,
                ci_low=0.01,
                ci_high=0.03,
                t=5.0,
                p_value=0.01,
                p_holm=0.02,
                verdict="better",
            ),
        ],
        OPTIONS,
    )
    assert study_best("demo", store).id == steady  # type: ignore[union-attr]
    got = confirmation("demo", store)
    assert [(v.kind, v.arm) for v in got] == [
        ("candidate", "af-steady"),
        ("candidate", "af-lucky"),
        ("baseline", "relu"),
        ("baseline", "tanh"),  # best mean first (mode max)
    ]
    first = got[0]
    assert (first.trial_number, first.delta, first.p_holm, first.verdict) == (
        1,
        0.02,
        0.02,
        "better",
    )
    assert first.options == OPTIONS
    summary = studies(store)[0]
    assert (summary.confirmed_trial, summary.confirmed_mean, summary.confirmed_verdict) == (
        trial(steady, store).number,
        0.96,
        "better",
    )
    # A confirmation stored again replaces the verdicts before it.
    store.record_verdicts(
        "demo", [verdict("candidate", "af-lucky", 0.97, trial_id=lucky, rank=1)], OPTIONS
    )
    assert [v.arm for v in confirmation("demo", store)] == ["af-lucky"]
    assert study_best("demo", store).id == lucky  # type: ignore[union-attr]


def test_a_study_without_finished_trials_has_no_best(store: TrialStore) -> None:
    make_study(store)
    add_trial(store, "demo", "failed", None)
    assert study_best("demo", store) is None
