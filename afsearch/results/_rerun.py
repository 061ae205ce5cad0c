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
    """One activation's runs on the fresh seeds, read on ``split`` (``metric`` is the
    validation name), and the learning-rate factor it trained with."""

    name: str
    metric: str
    mode: str
    runs: tuple[SeedRun, ...]
    split: str = "val"
    lr_factor: float = 1.0

    @property
    def values(self) -> list[float]:
        if self.split == "val":
            return [r.metric for r in self.runs if r.metric is not None]
        from afsearch.confirm._protocol import split_metric

        name = split_metric(self.metric, self.split)
        found = (r.metrics.get(name) for r in self.runs if not r.diverged)
        return [float(v) for v in found if v is not None and math.isfinite(v)]

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
            "split": self.split,
            "lr_factor": self.lr_factor,
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
    split: str = "val",
    lr_grid: Sequence[float] | None = None,
    tuning_seeds: int = 2,
) -> list[Comparison]:
    """:func:`rerun` for several activations on the same seeds, read on ``split``.

    With ``lr_grid`` each activation first picks its factor of the learning rate on the
    validation split over ``tuning_seeds`` seeds of its own (as the confirm stage does), then
    trains on ``seeds`` with it. With ``parallel``, every training is a Ray task asking for
    ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs (Ray must be running; ``device=None``
    trains on CUDA where Ray gave a GPU); ``progress`` then sees the runs as they end.
    """
    from afsearch.confirm._protocol import (
        TUNING_SEED_BASE,
        choose_factor,
        with_lr_factor,
    )
    from afsearch.confirm._seeds import fresh_seeds
    from afsearch.tasks import get_task

    t = get_task(task, settings)
    metric, mode = objective or (t.metric, t.mode)
    named = list(named)
    _check_smooth([act for _, act in named], task, settings)
    train = _Trainer(task, metric, device, parallel, cpus_per_trial, gpus_per_trial)
    factors = {name: 1.0 for name, _ in named}
    if lr_grid:
        tuning = fresh_seeds(tuning_seeds, TUNING_SEED_BASE, avoid=seeds)
        jobs: list[tuple[Any, Any, Any]] = [
            ((name, f), act, with_lr_factor(t.settings, f)) for name, act in named for f in lr_grid
        ]
        runs = train(jobs, tuning, None)
        for name, _ in named:
            per = {f: [None if r.diverged else r.metric for r in runs[(name, f)]] for f in lr_grid}
            factors[name] = choose_factor(per, mode).factor
    judged: list[tuple[Any, Any, Any]] = [
        (name, act, with_lr_factor(t.settings, factors[name])) for name, act in named
    ]
    runs = train(judged, seeds, progress)
    return [
        Comparison(name, metric, mode, tuple(runs[name]), split, factors[name]) for name, _ in named
    ]


@dataclass(frozen=True)
class _Trainer:
    """Trains jobs ``(key, activation, settings)`` on seeds, on Ray or here."""

    task: str
    metric: str
    device: str | None
    parallel: bool
    cpus_per_trial: float
    gpus_per_trial: float

    def __call__(
        self,
        jobs: Sequence[tuple[Any, Any, Any]],
        seeds: Sequence[int],
        progress: Callable[[str, int, SeedRun], None] | None,
    ) -> dict[Any, list[SeedRun]]:
        from afsearch.confirm import SeedJob
        from afsearch.orchestrator import ray_runner

        out: dict[Any, list[SeedRun]] = {key: [] for key, _, _ in jobs}
        if self.parallel:
            seed_jobs = [
                SeedJob(key, _data(act), seed, settings, self.metric)
                for key, act, settings in jobs
                for seed in seeds
            ]
            done = (lambda job, run: progress(job.key, job.seed, run)) if progress else None
            runner = ray_runner(self.cpus_per_trial, self.gpus_per_trial, self.device)
            for job, run in zip(seed_jobs, runner(seed_jobs, self.task, done), strict=True):
                out[job.key].append(run)
            return out
        for key, act, settings in jobs:
            cb = (lambda s, r, _n=key: progress(_n, s, r)) if progress else None
            out[key] = rerun(
                act,
                self.task,
                seeds=seeds,
                settings=settings,
                device=self.device or "cpu",
                progress=cb,
                metric=self.metric,
            )
        return out


def _data(act: Any) -> Any:
    return act.to_dict() if isinstance(act, (Candidate, SiteCandidates)) else act


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
