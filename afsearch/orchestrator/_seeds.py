"""Training activations again on seeds a search never used: one run in this process, or many as
Ray tasks in parallel (the confirm stage and ``afsearch rerun``).

An activation travels as data: a family config (``{"family": "swish", "beta": 1.5}``, built on
the worker through the registry) or a candidate's :meth:`~afsearch.expr.Candidate.to_dict`
(an ``expression`` key, re-parsed through the allow-list parser), never as code.

>>> from afsearch.orchestrator import train_seed
>>> run = train_seed({"family": "standard", "name": "relu"}, "digits-mlp", 10_000)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.expr import PER_SITE, Candidate, SiteCandidates

#: Where fresh seeds start: searches seed their trainings from the study's seed upwards.
FRESH_SEED_BASE = 10_000


@dataclass(frozen=True)
class SeedRun:
    """One training on one seed: the task's metric after the last epoch (``None`` when it
    diverged), its test metrics and how long it took."""

    seed: int
    metric: float | None
    test: dict[str, float] = field(default_factory=dict)
    diverged: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class SeedJob:
    """One training to run: ``activation`` (a family config or a candidate's data) on ``seed``,
    with the task settings of ``settings`` (``None``: the task's defaults). ``key`` names the
    job for the caller."""

    key: Any
    activation: Mapping[str, Any]
    seed: int
    settings: Any = None


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


def candidate_of(
    activation: Candidate | SiteCandidates | Mapping[str, Any],
) -> Candidate | SiteCandidates:
    """The candidate an activation's data names: a candidate's data, or a family config (one
    per site for a per-site config)."""
    from afsearch.activations import build_activation

    if isinstance(activation, (Candidate, SiteCandidates)):
        return activation
    if isinstance(activation, Mapping) and "expression" in activation:
        if activation.get("family") == PER_SITE:
            return SiteCandidates.from_dict(activation)
        return Candidate.from_dict(activation)
    return build_activation(activation)


def train_seed(
    activation: Candidate | SiteCandidates | Mapping[str, Any],
    task: str,
    seed: int,
    *,
    settings: Any = None,
    device: str = "cpu",
) -> SeedRun:
    """Train ``activation`` with ``task`` on ``seed`` here; the metric of the last epoch."""
    from afsearch.compiler import CompiledActivation
    from afsearch.tasks import get_task

    candidate = candidate_of(activation)
    t = get_task(task, settings)
    start = time.perf_counter()
    last = None

    built: list[CompiledActivation] = []

    def make_activation(channels: int | None = None) -> CompiledActivation:
        # A per-channel candidate holds one value per channel of each site; a per-site one
        # gives the network's n-th site its n-th candidate.
        if isinstance(candidate, SiteCandidates):
            site = candidate.sites[len(built) % len(candidate.sites)]
        else:
            site = candidate
        built.append(CompiledActivation(site, channels=channels))
        return built[-1]

    for result in t.fit(make_activation, seed=seed, device=device):
        last = result
    if last is None:
        raise AfsearchError(f"Task {task!r} trained no epoch; its settings need epochs >= 1.")
    metric = None if last.diverged else last.metrics.get(t.metric)
    test = {k: v for k, v in last.metrics.items() if k.startswith("test_")}
    return SeedRun(seed, metric, test, last.diverged, time.perf_counter() - start)


def _train_on_worker(
    activation: Mapping[str, Any], task: str, seed: int, settings: Any, device: str | None
) -> SeedRun:
    """A Ray task: :func:`train_seed` on the CPUs (and GPU, if any) Ray gave it."""
    import ray
    import torch

    if device is None:
        device = "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    torch.set_num_threads(max(1, int(cpus)))
    return train_seed(activation, task, seed, settings=settings, device=device)


def train_seeds(
    jobs: Sequence[SeedJob],
    task: str,
    *,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    device: str | None = None,
    on_result: Callable[[SeedJob, SeedRun], None] | None = None,
) -> list[SeedRun]:
    """Run ``jobs`` as Ray tasks, in parallel as far as the cluster's resources allow, each
    asking for ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs; the runs in the order of
    ``jobs``. ``on_result`` is called on the driver as each one ends (to store it at once).

    Ray must be running (:func:`afsearch.orchestrator.init_ray`). ``device`` is each
    training's torch device; by default CUDA where Ray gave the task a GPU, else the CPU.
    """
    import ray

    if cpus_per_trial <= 0 or gpus_per_trial < 0:
        raise AfsearchError(
            f"cpus_per_trial must be above 0 and gpus_per_trial at least 0, got "
            f"{cpus_per_trial} and {gpus_per_trial}."
        )
    if not jobs:
        return []
    # A request no node can meet would wait for ever: say so instead.
    have = ray.cluster_resources()
    if cpus_per_trial > have.get("CPU", 0) or gpus_per_trial > have.get("GPU", 0):
        raise AfsearchError(
            f"Each training asks for {cpus_per_trial:g} CPUs and {gpus_per_trial:g} GPUs, but the "
            f"Ray cluster has {have.get('CPU', 0):g} CPUs and {have.get('GPU', 0):g} GPUs; lower "
            "--cpus-per-trial or --gpus-per-trial."
        )
    remote = ray.remote(_train_on_worker).options(
        num_cpus=cpus_per_trial, num_gpus=gpus_per_trial, max_retries=0
    )
    pending = {
        remote.remote(dict(job.activation), task, job.seed, job.settings, device): k
        for k, job in enumerate(jobs)
    }
    runs: dict[int, SeedRun] = {}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            k = pending.pop(done[0])
            try:
                runs[k] = ray.get(done[0])
            except ray.exceptions.RayTaskError as exc:
                # A user's mistake (an unknown task option, a bad device) reads as one sentence.
                cause = getattr(exc, "cause", None)
                if isinstance(cause, AfsearchError):
                    raise AfsearchError(str(cause)) from None
                raise
            if on_result is not None:
                on_result(jobs[k], runs[k])
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
    return [runs[k] for k in range(len(jobs))]
