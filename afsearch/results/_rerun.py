"""Re-training an activation on fresh seeds, and comparing it with a baseline.

A search picks its winner on one seed (or a few); before trusting it, train it again on seeds the
search never saw and compare against the best standard activation with Welch's t-test. One run
is :func:`afsearch.confirm.train_seed`; ``compare(..., parallel=True)`` runs them all as Ray
tasks (:func:`afsearch.orchestrator.ray_runner`), as ``afsearch rerun`` and the confirm stage do.

>>> from afsearch.results import rerun
>>> swish = {"family": "swish", "beta": 1.5}
>>> scores = rerun(swish, "digits-mlp", seeds=[101, 102])  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from afsearch.expr import Candidate, SiteCandidates

if TYPE_CHECKING:
    from afsearch.confirm import SeedRun

# The confirm stage and the orchestrator (and with them torch and Ray) are imported where a
# training runs, so that exporting or plotting a trial loads neither.
__all__ = ["Comparison", "compare", "rerun"]


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


def rerun(
    activation: Candidate | SiteCandidates | Mapping[str, Any],
    task: str,
    *,
    seeds: Sequence[int],
    settings: Any = None,
    device: str = "cpu",
    progress: Callable[[int, SeedRun], None] | None = None,
    metric: str | None = None,
) -> list[SeedRun]:
    """Train ``activation`` with ``task`` once per seed, here; the task's metric on the last
    epoch of each (``metric``, when given). A candidate the task refuses (one with kinks, for a
    PINN) raises at once."""
    from afsearch.confirm import train_seed

    _check_smooth([activation], task, settings)
    runs = []
    for seed in seeds:
        run = train_seed(activation, task, seed, settings=settings, device=device, metric=metric)
        runs.append(run)
        if progress:
            progress(seed, run)
    return runs


def compare(
    named: Iterable[tuple[str, Candidate | SiteCandidates | Mapping[str, Any]]],
    task: str,
    *,
    seeds: Sequence[int],
    settings: Any = None,
    device: str | None = "cpu",
    progress: Callable[[str, int, SeedRun], None] | None = None,
    parallel: bool = False,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    objective: tuple[str, str] | None = None,
) -> list[Comparison]:
    """:func:`rerun` for several activations on the same seeds.

    With ``parallel``, every training is a Ray task asking for ``cpus_per_trial`` CPUs and
    ``gpus_per_trial`` GPUs (Ray must be running; ``device=None`` trains on CUDA where Ray gave
    a GPU); ``progress`` then sees the runs as they end, in any order.
    """
    from afsearch.confirm import SeedJob
    from afsearch.orchestrator import ray_runner
    from afsearch.tasks import get_task

    t = get_task(task, settings)
    metric, mode = objective or (t.metric, t.mode)
    named = list(named)
    _check_smooth([act for _, act in named], task, settings)
    if parallel:
        jobs = [
            SeedJob(
                name,
                act.to_dict() if isinstance(act, (Candidate, SiteCandidates)) else act,
                seed,
                settings,
                metric,
            )
            for name, act in named
            for seed in seeds
        ]
        done = (lambda job, run: progress(job.key, job.seed, run)) if progress else None
        runs = ray_runner(cpus_per_trial, gpus_per_trial, device)(jobs, task, done)
        per = len(seeds)
        return [
            Comparison(name, metric, mode, tuple(runs[i * per : (i + 1) * per]))
            for i, (name, _) in enumerate(named)
        ]
    out = []
    for name, act in named:
        cb = (lambda s, r, _n=name: progress(_n, s, r)) if progress else None
        runs = rerun(
            act,
            task,
            seeds=seeds,
            settings=settings,
            device=device or "cpu",
            progress=cb,
            metric=metric,
        )
        out.append(Comparison(name, metric, mode, tuple(runs)))
    return out


def _check_smooth(
    activations: Iterable[Candidate | SiteCandidates | Mapping[str, Any]], task: str, settings: Any
) -> None:
    """Refuse, before any training, an activation without the derivatives ``task`` takes."""
    from afsearch.tasks import get_task
    from afsearch.trial import candidate_of

    t = get_task(task, settings)
    if t.derivatives:
        for activation in activations:
            candidate = candidate_of(activation)
            for site in getattr(candidate, "sites", [candidate]):
                t.check_candidate(site)
