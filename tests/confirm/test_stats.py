"""The statistics of a confirmation: Holm, the interval of a difference, the verdicts."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats

from afsearch.confirm import difference_interval, holm, judge, welch


@pytest.mark.parametrize(
    ("p", "adjusted"),
    [
        # statsmodels' multipletests(p, method="holm")[1] on these gives the same numbers.
        ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
        ([0.5, 0.6], [1.0, 1.0]),
        ([0.02], [0.02]),
        ([], []),
        # A NaN (a side with fewer than two values) counts as a comparison and stays NaN.
        ([0.01, math.nan], [0.02, math.nan]),
    ],
)
def test_holm_matches_known_values(p: list[float], adjusted: list[float]) -> None:
    assert holm(p) == pytest.approx(adjusted, nan_ok=True)


def test_holm_never_lowers_a_p_value_and_keeps_the_order() -> None:
    p = [0.001, 0.2, 0.01, 0.04, 0.03]
    got = holm(p)
    assert all(g >= q for g, q in zip(got, p, strict=True))
    ranked = sorted(range(len(p)), key=p.__getitem__)
    assert [got[i] for i in ranked] == sorted(got)


def interval_by_hand(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """The textbook Welch-Satterthwaite 95% interval of mean(a) - mean(b)."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    delta = statistics.mean(a) - statistics.mean(b)
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    return delta, delta - half, delta + half


@pytest.mark.parametrize(
    ("a", "b", "pinned"),
    [
        # df = 5.52, t(0.975, df) = 2.4984: -3.5 +- 3.8854.
        ([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0, 10.0], (-3.5, -7.385368, 0.385368)),
        ([0.91, 0.93, 0.92, 0.95], [0.88, 0.90, 0.89], None),
    ],
)
def test_interval_is_welch_satterthwaite(
    a: list[float], b: list[float], pinned: tuple[float, float, float] | None
) -> None:
    got = difference_interval(a, b)
    assert got == pytest.approx(interval_by_hand(a, b), rel=1e-9)
    if pinned:
        assert got == pytest.approx(pinned, abs=1e-6)
    # The interval excludes 0 exactly when Welch's test rejects at 5%.
    _, p = welch(a, b)
    assert (got[1] > 0 or got[2] < 0) == (p < 0.05)


def test_interval_of_too_few_or_constant_values() -> None:
    assert all(math.isnan(v) for v in difference_interval([1.0], [1.0, 2.0]))
    assert difference_interval([2.0, 2.0], [1.0, 1.0]) == (1.0, 1.0, 1.0)


BASE = [("relu", [0.90, 0.91, 0.905]), ("tanh", [0.80, 0.82, 0.81])]


def test_judge_compares_each_candidate_with_the_best_baseline() -> None:
    strong = [0.95, 0.96, 0.955]  # clearly above relu
    close = [0.905, 0.90, 0.91]  # relu's numbers: a tie
    rows = judge([("af-close", 1, close), ("af-strong", 2, strong)], BASE, "max")
    by_arm = {r["arm"]: r for r in rows}
    for arm, vals in (("af-close", close), ("af-strong", strong)):
        row = by_arm[arm]
        assert row["baseline"] == "relu"
        ref = stats.ttest_ind(vals, BASE[0][1], equal_var=False)
        assert (row["t"], row["p_value"]) == pytest.approx((ref.statistic, ref.pvalue))
    ps = [by_arm["af-close"]["p_value"], by_arm["af-strong"]["p_value"]]
    assert [by_arm["af-close"]["p_holm"], by_arm["af-strong"]["p_holm"]] == holm(ps)
    assert by_arm["af-strong"]["verdict"] == "better" and by_arm["af-close"]["verdict"] == "tie"
    assert (by_arm["af-strong"]["rank"], by_arm["af-close"]["rank"]) == (1, 2)
    assert by_arm["af-strong"]["delta"] == pytest.approx(statistics.fmean(strong) - 0.905)
    assert [r["verdict"] for r in rows if r["kind"] == "baseline"] == ["baseline", "baseline"]


def test_judge_minimises_when_the_mode_is_min() -> None:
    losses = [("a", [0.10, 0.11, 0.105]), ("b", [0.30, 0.31, 0.305])]
    rows = judge([("af-high", 1, [0.5, 0.52, 0.51])], losses, "min")
    (cand,) = [r for r in rows if r["kind"] == "candidate"]
    assert cand["baseline"] == "a" and cand["delta"] > 0 and cand["verdict"] == "worse"


def test_a_candidate_that_always_diverged_has_no_mean_and_no_rank() -> None:
    rows = judge([("af-nan", 1, []), ("af-ok", 2, [0.9, 0.91])], BASE, "max")
    by_arm = {r["arm"]: r for r in rows}
    assert by_arm["af-nan"]["mean"] is None and "rank" not in by_arm["af-nan"]
    assert math.isnan(by_arm["af-nan"]["p_value"]) and by_arm["af-nan"]["verdict"] == "tie"
    assert by_arm["af-ok"]["rank"] == 1
