"""Trainings on fresh seeds as Ray tasks, in parallel as far as the cluster allows: the runner
the confirm stage and ``afsearch rerun`` use on Ray."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from afsearch.confirm import Runner, SeedJob, SeedRun
from afsearch.exceptions import AfsearchError


def ray_runner(
    cpus_per_trial: float = 1.0, gpus_per_trial: float = 0.0, device: str | None = None
) -> Runner:
    """A :data:`afsearch.confirm.Runner` that trains each job as a Ray task with these
    resources (Ray must be running)."""

    def run(
        jobs: Sequence[SeedJob],
        task: str,
        on_result: Callable[[SeedJob, SeedRun], None] | None = None,
    ) -> list[SeedRun]:
        return train_seeds(
            jobs,
            task,
            cpus_per_trial=cpus_per_trial,
            gpus_per_trial=gpus_per_trial,
            device=device,
            on_result=on_result,
        )

    return run


def _train_on_worker(job: SeedJob, task: str, device: str | None) -> SeedRun:
    """A Ray task: :func:`train_seed` on the CPUs (and GPU, if any) Ray gave it."""
    import ray
    import torch

    if device is None:
        device = "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    torch.set_num_threads(max(1, int(cpus)))
    from afsearch.confirm import train_seed

    return train_seed(
        dict(job.activation),
        task,
        job.seed,
        settings=job.settings,
        device=device,
        metric=job.metric,
    )


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

    Ray must be running (:func:`afsearch.orchestrator.init_ray`). A :data:`afsearch.confirm.Runner`
    through :func:`ray_runner`. ``device`` is each
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
        remote.remote(
            SeedJob(None, dict(job.activation), job.seed, job.settings, job.metric), task, device
        ): k
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
