"""Training activations again on seeds a search never used (the confirm stage and ``afsearch
rerun``): one run in this process, and the :data:`Runner` that trains many.

An activation travels as data: a family config (``{"family": "swish", "beta": 1.5}``, built on
the worker through the registry) or a candidate's :meth:`~afsearch.expr.Candidate.to_dict`
(an ``expression`` key, re-parsed through the allow-list parser), never as code.

>>> from afsearch.confirm import train_seed
>>> run = train_seed({"family": "standard", "name": "relu"}, "digits-mlp", 10_000)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate, SiteCandidates
from afsearch.trial import candidate_of

#: Where fresh seeds start: searches seed their trainings from the study's seed upwards.
FRESH_SEED_BASE = 10_000


@dataclass(frozen=True)
class SeedRun:
    """One training on one seed: the metric after the last epoch on the validation split
    (``None`` when it diverged), its test metrics, how long it took, and every metric of the
    last epoch."""

    seed: int
    metric: float | None
    test: dict[str, float] = field(default_factory=dict)
    diverged: bool = False
    seconds: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedJob:
    """One training to run: ``activation`` (a family config or a candidate's data) on ``seed``,
    with the task settings of ``settings`` (``None``: the task's defaults). ``key`` names the
    job for the caller."""

    key: Any
    activation: Mapping[str, Any]
    seed: int
    settings: Any = None
    #: The metric to read after the last epoch (``None``: the task's own); a training
    #: function's is the study's.
    metric: str | None = None


def fresh_seeds(n: int, base: int = FRESH_SEED_BASE, avoid: Collection[int] = ()) -> list[int]:
    """``n`` seeds from ``base`` up, skipping the ones in ``avoid`` (a search's own)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise AfsearchError(f"The number of seeds must be at least 1, got {n}.")
    seeds: list[int] = []
    seed = base
    while len(seeds) < n:
        if seed not in avoid:
            seeds.append(seed)
        seed += 1
    return seeds


def train_seed(
    activation: Candidate | SiteCandidates | Mapping[str, Any],
    task: str,
    seed: int,
    *,
    settings: Any = None,
    device: str = "cpu",
    metric: str | None = None,
) -> SeedRun:
    """Train ``activation`` with ``task`` on ``seed`` here, with the modules a search trial
    builds (:class:`afsearch.tasks.ActivationFactory`); ``metric`` (the task's, by default)
    after the last epoch."""
    from afsearch.tasks import ActivationFactory, get_task

    t = get_task(task, settings)
    factory = ActivationFactory(candidate_of(activation), derivatives=t.derivatives, device=device)
    start = time.perf_counter()
    last = None
    for result in t.fit(factory.maker(), seed=seed, device=device):
        last = result
        factory.after_epoch(result.epoch, result.metrics.get("epoch_seconds"), t.settings.epochs)
    if last is None:
        raise AfsearchError(f"Task {task!r} trained no epoch; its settings need epochs >= 1.")
    name = metric or t.metric
    if not last.diverged and name not in last.metrics:
        reported = ", ".join(sorted(k for k in last.metrics if k != "epoch_seconds"))
        raise AfsearchError(
            f"Task {task!r} reported no {name!r}; it reported {reported or 'nothing'}."
        )
    value = None if last.diverged else last.metrics[name]
    test = {k: v for k, v in last.metrics.items() if k.startswith("test_")}
    return SeedRun(
        seed, value, test, last.diverged, time.perf_counter() - start, dict(last.metrics)
    )


#: How a confirmation trains its jobs: ``runner(jobs, task, on_result)`` returns the runs in
#: the order of ``jobs`` and calls ``on_result`` as each ends. :func:`run_here` trains them
#: one after another in this process; ``afsearch.orchestrator.ray_runner`` as Ray tasks.
Runner = Callable[
    [Sequence[SeedJob], str, Callable[[SeedJob, SeedRun], None] | None], list[SeedRun]
]


def run_here(
    jobs: Sequence[SeedJob],
    task: str,
    on_result: Callable[[SeedJob, SeedRun], None] | None = None,
    *,
    device: str = "cpu",
) -> list[SeedRun]:
    """A :data:`Runner` that trains ``jobs`` one after another in this process."""
    runs = []
    for job in jobs:
        runs.append(
            train_seed(
                job.activation,
                task,
                job.seed,
                settings=job.settings,
                device=device,
                metric=job.metric,
            )
        )
        if on_result is not None:
            on_result(job, runs[-1])
    return runs
