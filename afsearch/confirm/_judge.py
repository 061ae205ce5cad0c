"""A confirmation's verdicts from its stored values: each candidate against the best baseline,
Holm over the candidates, on the linear or the log scale."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from afsearch.confirm._arms import BASELINE, CANDIDATE
from afsearch.confirm._stats import CONFIDENCE, center, compare, holm


def judge(
    candidates: Sequence[tuple[str, int | None, Sequence[float]]],
    baselines: Sequence[tuple[str, Sequence[float]]],
    mode: str,
    alpha: float = 1 - CONFIDENCE,
    *,
    scale: str = "linear",
) -> list[dict[str, Any]]:
    """The verdicts of a confirmation from its values (diverged runs left out), as
    :meth:`TrialStore.record_verdicts` stores them.

    Each candidate ``(arm, trial_id, values)`` faces the best baseline (best mean, by ``mode``):
    Welch's t-test, the difference of means (candidate minus baseline) with its interval, and
    Holm's correction over the candidates' p-values. A candidate is ``better`` or ``worse``
    when its corrected p is below ``alpha``, else a ``tie``; rank 1 is the best mean. On the
    ``log`` scale (positive errors, :func:`~afsearch.confirm._stats.choose_scale`) the means
    are geometric, ``delta`` and its interval are the ratio of geometric means, and the test
    is Welch's on the logs.
    """
    sign = -1.0 if mode == "max" else 1.0

    def order(mean: float | None) -> float:
        return math.inf if mean is None else sign * mean

    base = [(name, vals, *center(vals, scale)) for name, vals in baselines]
    best = min(base, key=lambda b: order(b[2]), default=None)
    best_values: Sequence[float] = best[1] if best else []
    rows: list[dict[str, Any]] = []
    effects: list[float] = []
    for arm, trial_id, vals in candidates:
        mean, std = center(vals, scale)
        result = compare(vals, best_values, scale)
        effects.append(result.pop("effect"))
        rows.append(
            {
                "kind": CANDIDATE,
                "arm": arm,
                "trial_id": trial_id,
                "n": len(vals),
                "mean": mean,
                "std": std,
                "baseline": best[0] if best else None,
                **result,
            }
        )
    for row, effect, p_holm in zip(rows, effects, holm([r["p_value"] for r in rows]), strict=True):
        row["p_holm"] = p_holm
        better = sign * effect < 0 if not math.isnan(effect) else False
        significant = not math.isnan(p_holm) and p_holm < alpha
        row["verdict"] = ("better" if better else "worse") if significant else "tie"
    # Rank 1, the confirmed best, needs a mean: a candidate that diverged on every seed has none.
    ranked = sorted((r for r in rows if r["mean"] is not None), key=lambda r: order(r["mean"]))
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
    rows += [
        {
            "kind": BASELINE,
            "arm": name,
            "n": len(vals),
            "mean": mean,
            "std": std,
            "verdict": "baseline",
        }
        for name, vals, mean, std in base
    ]
    return rows
