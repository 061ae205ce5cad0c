"""The statistics of a confirmation: Welch's t-test, the interval of a difference of means and
Holm's correction over several comparisons.

>>> welch([0.91, 0.93, 0.92], [0.88, 0.90, 0.89])[1] < 0.05
True
>>> holm([0.01, 0.04, 0.03])
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: The level of the interval of a difference of means, and of a verdict.
CONFIDENCE = 0.95


def welch(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Welch's t statistic and two-sided p-value of mean(a) - mean(b) (scipy); NaN for fewer
    than two values on a side."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    res = stats.ttest_ind(a, b, equal_var=False)
    return float(res.statistic), float(res.pvalue)


def difference_interval(
    a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """mean(a) - mean(b) and its ``confidence`` interval, with the Welch-Satterthwaite degrees
    of freedom (scipy's interval of Welch's test); NaN for fewer than two values on a side, and
    the difference itself at both ends when neither side varies."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan, math.nan
    delta = sum(a) / len(a) - sum(b) / len(b)
    if len(set(a)) == 1 and len(set(b)) == 1:
        return delta, delta, delta
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(confidence)
    return delta, float(ci.low), float(ci.high)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (a NaN stays NaN and counts as
    a comparison, so it never makes the others look stronger).

    The few lines of statsmodels' ``multipletests(method="holm")``, written here because
    statsmodels is not a dependency of afsearch.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: (math.isnan(p_values[i]), p_values[i]))
    adjusted = [math.nan] * m
    running = 0.0
    for rank, i in enumerate(order):
        p = p_values[i]
        if math.isnan(p):
            continue
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


#: How two sets of values are compared: the difference of arithmetic means (Welch's t), or, for
#: positive errors and losses, the ratio of geometric means (Welch's t on the logs).
SCALES = ("linear", "log")
TESTS = {
    "linear": "Welch's t-test on the values, difference of means",
    "log": "Welch's t-test on the log values, ratio of geometric means",
}


def choose_scale(mode: str, values: Sequence[float]) -> str:
    """``log`` for a metric to minimise whose values are all positive (an error or a loss:
    heavy-tailed, compared by ratios), else ``linear``."""
    positive = bool(values) and all(v > 0 and math.isfinite(v) for v in values)
    return "log" if mode == "min" and positive else "linear"


def center(values: Sequence[float], scale: str) -> tuple[float | None, float | None]:
    """The mean and spread of ``values`` on ``scale``: arithmetic mean and sample std, or
    geometric mean and geometric std factor (``exp`` of the logs' std)."""
    if not values:
        return None, None
    if scale == "log":
        logs = [math.log(v) for v in values]
        mean = sum(logs) / len(logs)
        sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1)) if len(logs) > 1 else 0
        return math.exp(mean), math.exp(sd)
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def compare(
    a: Sequence[float], b: Sequence[float], scale: str = "linear", confidence: float = CONFIDENCE
) -> dict[str, float]:
    """``a`` against ``b`` on ``scale``: ``delta`` (mean(a) - mean(b), or the ratio of
    geometric means on ``log``) with its interval, Welch's ``t`` and ``p_value`` (on the logs
    for ``log``), and ``effect``, which is below 0 when ``a`` is lower (the difference, or the
    log of the ratio)."""
    if scale == "log":
        la, lb = [math.log(v) for v in a], [math.log(v) for v in b]
        t, p = welch(la, lb)
        diff, low, high = difference_interval(la, lb, confidence)
        return {"delta": math.exp(diff), "ci_low": math.exp(low), "ci_high": math.exp(high),
                "t": t, "p_value": p, "effect": diff}  # fmt: skip
    t, p = welch(a, b)
    delta, low, high = difference_interval(a, b, confidence)
    return {"delta": delta, "ci_low": low, "ci_high": high, "t": t, "p_value": p, "effect": delta}
