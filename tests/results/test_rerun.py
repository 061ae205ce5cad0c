"""Fresh-seed re-training: the seeds, Welch's t-test, the summaries, and rerun/compare."""

from __future__ import annotations

import math
import statistics
import warnings

import pytest
from scipy import stats

from afsearch.activations import build
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate, parse_expression
from afsearch.results import (
    FRESH_SEED_BASE,
    Comparison,
    SeedRun,
    compare,
    fresh_seeds,
    rerun,
    welch,
)
from afsearch.tasks import TaskSettings

# digits-mlp at its smallest: one epoch of a width-8 MLP, a fraction of a second per seed.
TINY = TaskSettings(epochs=1, batch_size=128, options={"width": 8})


def test_fresh_seeds_start_above_any_search_seed() -> None:
    assert fresh_seeds(3) == [FRESH_SEED_BASE, FRESH_SEED_BASE + 1, FRESH_SEED_BASE + 2]
    assert FRESH_SEED_BASE == 10_000  # searches seed trainings from 0 upwards
    assert fresh_seeds(1, base=7) == [7]
    assert len(set(fresh_seeds(50))) == 50


@pytest.mark.parametrize("n", [0, -3])
def test_fresh_seeds_needs_at_least_one(n: int) -> None:
    with pytest.raises(AfsearchError) as info:
        fresh_seeds(n)
    assert str(info.value) == f"The number of seeds must be at least 1, got {n}."


def welch_by_hand(a: list[float], b: list[float]) -> tuple[float, float]:
    """Welch's t and its two-sided p-value from the textbook formulas."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    t = (statistics.mean(a) - statistics.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return t, 2 * stats.t.sf(abs(t), df)


@pytest.mark.parametrize(
    ("a", "b", "t", "p"),
    [
        # Unequal sizes and variances, with the values pinned (t = -2.2514, df = 5.5).
        ([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0, 10.0], -2.2514363231593695, 0.06913359319239),
        ([0.91, 0.93, 0.92, 0.95], [0.88, 0.90, 0.89], None, None),
        ([0.5, 0.7], [0.1, 0.2, 0.15, 0.12, 0.18, 0.11], None, None),
    ],
)
def test_welch_matches_the_formula_and_scipy(
    a: list[float], b: list[float], t: float | None, p: float | None
) -> None:
    got_t, got_p = welch(a, b)
    want_t, want_p = welch_by_hand(a, b)
    assert got_t == pytest.approx(want_t, rel=1e-12)
    assert got_p == pytest.approx(want_p, rel=1e-9)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert (got_t, got_p) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    if t is not None:
        assert got_t == pytest.approx(t, rel=1e-12) and got_p == pytest.approx(p, rel=1e-9)
    # mean(a) - mean(b): swapping the samples flips the sign, not the p-value.
    swapped = welch(b, a)
    assert swapped[0] == pytest.approx(-got_t) and swapped[1] == pytest.approx(got_p)
    assert isinstance(got_t, float) and isinstance(got_p, float)


@pytest.mark.parametrize(
    ("a", "b"), [([0.9], [0.8, 0.7]), ([0.9, 0.8], [0.7]), ([], []), ([], [0.1, 0.2])]
)
def test_welch_is_nan_below_two_values_per_sample(a: list[float], b: list[float]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # quietly: no variance warnings from scipy
        t, p = welch(a, b)
    assert math.isnan(t) and math.isnan(p)


def runs(*metrics: float | None) -> tuple[SeedRun, ...]:
    return tuple(SeedRun(seed=100 + i, metric=m, diverged=m is None) for i, m in enumerate(metrics))


def test_comparison_mean_and_sample_std_skip_diverged_runs() -> None:
    c = Comparison("swish", "val_accuracy", "max", runs(0.9, None, 0.8, 0.95))
    assert c.values == [0.9, 0.8, 0.95]
    assert c.mean == pytest.approx(statistics.mean([0.9, 0.8, 0.95]))
    assert c.std == pytest.approx(statistics.stdev([0.9, 0.8, 0.95]))  # n - 1, not n
    assert c.to_dict() == {
        "name": "swish",
        "metric": "val_accuracy",
        "mode": "max",
        "split": "val",
        "lr_factor": 1.0,
        "mean": c.mean,
        "std": c.std,
        "values": [0.9, 0.8, 0.95],
        "diverged": 1,
    }


def test_comparison_of_too_few_runs() -> None:
    one = Comparison("a", "val_loss", "min", runs(0.3))
    assert one.mean == 0.3 and one.std == 0.0
    none = Comparison("b", "val_loss", "min", runs(None, None))
    assert math.isnan(none.mean) and none.std == 0.0 and none.values == []
    assert none.to_dict()["diverged"] == 2


@pytest.mark.slow
def test_rerun_trains_once_per_seed_reproducibly() -> None:
    swish = {"family": "swish", "beta": 1.5}
    seen: list[tuple[int, SeedRun]] = []
    first = rerun(
        swish, "digits-mlp", seeds=[5, 6], settings=TINY, progress=lambda s, r: seen.append((s, r))
    )
    assert [r.seed for r in first] == [5, 6]
    assert seen == [(5, first[0]), (6, first[1])]
    for r in first:
        assert r.metric is not None and 0.0 <= r.metric <= 1.0 and not r.diverged
        assert set(r.test) == {"test_loss", "test_accuracy"} and r.seconds > 0
    assert first[0].test != first[1].test  # another seed, another network
    # The same seed trains the same network on the CPU; a Candidate works as well as a config.
    again = rerun(build(swish), "digits-mlp", seeds=[6], settings=TINY)
    assert again[0].metric == first[1].metric and again[0].test == first[1].test


def test_rerun_reports_a_diverged_seed_without_a_metric() -> None:
    huge = Candidate(parse_expression("1e30*x"))
    (run,) = rerun(huge, "digits-mlp", seeds=[0], settings=TINY)
    assert run.diverged and run.metric is None


@pytest.mark.slow
def test_compare_runs_every_activation_on_the_same_seeds() -> None:
    named = [
        ("swish", {"family": "swish", "beta": 1.5}),
        ("relu", {"family": "standard", "name": "relu"}),
    ]
    calls: list[tuple[str, int]] = []
    out = compare(
        named, "digits-mlp", seeds=[5], settings=TINY, progress=lambda n, s, r: calls.append((n, s))
    )
    assert [c.name for c in out] == ["swish", "relu"]
    assert calls == [("swish", 5), ("relu", 5)]
    for c in out:
        assert (c.metric, c.mode) == ("val_accuracy", "max")
        assert [r.seed for r in c.runs] == [5]
    # Each activation's runs are what rerun gives on those seeds.
    alone = rerun({"family": "swish", "beta": 1.5}, "digits-mlp", seeds=[5], settings=TINY)
    assert out[0].runs[0].metric == alone[0].metric
