"""Re-training an activation on fresh seeds, and comparing it with a baseline.

A search picks its winner on one seed (or a few); before trusting it, train it again on seeds the
search never saw and compare against the best standard activation with Welch's t-test.

>>> from afsearch.results import rerun
>>> swish = {"family": "swish", "beta": 1.5}
>>> scores = rerun(swish, "digits-mlp", seeds=[101, 102])  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from afsearch.activations import build
from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate

FRESH_SEED_BASE = 10_000


@dataclass(frozen=True)
class SeedRun:
    seed: int
    metric: float | None
    test: dict[str, float] = field(default_factory=dict)
    diverged: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class Comparison:
    name: str
    metric: str
    mode: str
    runs: tuple[SeedRun, ...]

    @property
    def values(self) -> list[float]:
        return [r.metric for r in self.runs if r.metric is not None]

    @property
    def mean(self) -> float:
        v = self.values
        return sum(v) / len(v) if v else math.nan

    @property
    def std(self) -> float:
        v = self.values
        if len(v) < 2:
            return 0.0
        m = self.mean
        return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metric": self.metric,
            "mode": self.mode,
            "mean": self.mean,
            "std": self.std,
            "values": self.values,
            "diverged": sum(r.diverged for r in self.runs),
        }


def fresh_seeds(n: int, base: int = FRESH_SEED_BASE) -> list[int]:
    """Seeds no search uses (searches seed trainings from 0 upwards)."""
    if n < 1:
        raise AfsearchError(f"The number of seeds must be at least 1, got {n}.")
    return [base + i for i in range(n)]


def rerun(
    activation: Candidate | Mapping[str, Any],
    task: str,
    *,
    seeds: Sequence[int],
    settings: Any = None,
    device: str = "cpu",
    progress: Callable[[int, SeedRun], None] | None = None,
) -> list[SeedRun]:
    """Train ``activation`` with ``task`` once per seed; the task's metric on the last epoch."""
    import time

    from afsearch.tasks import get_task

    candidate = activation if isinstance(activation, Candidate) else build(activation)
    runs = []
    for seed in seeds:
        t = get_task(task, settings)
        start = time.perf_counter()
        last = None
        for result in t.fit(lambda: CompiledActivation(candidate), seed=seed, device=device):
            last = result
        assert last is not None
        metric = None if last.diverged else last.metrics.get(t.metric)
        test = {k: v for k, v in last.metrics.items() if k.startswith("test_")}
        run = SeedRun(seed, metric, test, last.diverged, time.perf_counter() - start)
        runs.append(run)
        if progress:
            progress(seed, run)
    return runs


def compare(
    named: Iterable[tuple[str, Candidate | Mapping[str, Any]]],
    task: str,
    *,
    seeds: Sequence[int],
    settings: Any = None,
    device: str = "cpu",
    progress: Callable[[str, int, SeedRun], None] | None = None,
) -> list[Comparison]:
    """:func:`rerun` for several activations on the same seeds."""
    from afsearch.tasks import get_task

    t = get_task(task, settings)
    out = []
    for name, act in named:
        cb = (lambda s, r, _n=name: progress(_n, s, r)) if progress else None
        runs = rerun(act, task, seeds=seeds, settings=settings, device=device, progress=cb)
        out.append(Comparison(name, t.metric, t.mode, tuple(runs)))
    return out


def welch(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Welch's t statistic and two-sided p-value of mean(a) - mean(b) (scipy)."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    res = stats.ttest_ind(a, b, equal_var=False)
    return float(res.statistic), float(res.pvalue)
