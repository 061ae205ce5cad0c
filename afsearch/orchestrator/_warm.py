"""Readying Ray's idle workers for the first trials while the driver sets the study up.

A worker's first trial pays for what every later trial on it reuses: importing torch (about
1.4 s here), torch's compiler stack (about 1.3 s, which ``torch.optim`` loads on the first
optimizer), and building the task's data (1.7 s of scikit-learn's import for ``digits-mlp``).
Right after a local Ray starts, :func:`warm_workers` hands that work to as many idle workers as
trials run at once, as plain Ray tasks, and does not wait for them: they run while the driver
opens the study, draws the prescreen's pool and starts Tune. Ray gives Tune's trial actors the
same pooled worker processes, so the first trials start warm; the task's data lands in the
worker's task cache (:func:`afsearch.orchestrator._trainable.worker_task`) under the key the
trials look up. A warm-up that fails changes nothing: the trial does the same work itself.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from afsearch.space import SearchSpace


def warm_worker(task: str, settings: Any, seed: int) -> int:
    """On a worker: import what a trial imports, build ``task`` and its data for ``seed``, and
    make one optimizer (which loads torch's compiler stack); the worker's process id."""
    try:
        import torch

        from afsearch.orchestrator._trainable import worker_task

        worker_task(task, settings).data(seed)
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    except Exception:  # the trial does the same work and says what went wrong
        pass
    return os.getpid()


def warm_workers(space: SearchSpace, seed: int, count: int, cpus: float) -> list[Any]:
    """Start :func:`warm_worker` on ``count`` workers of ``cpus`` CPUs each, without waiting;
    the object references (kept until the launch ends: nothing waits for them)."""
    import ray

    from afsearch.space import task_settings

    settings = task_settings(space, {})
    remote = ray.remote(num_cpus=cpus, max_retries=0)(warm_worker)
    # A trial's first training seed is the launch's seed (TrialSpec.training_seeds).
    return [remote.remote(space.task, settings, seed) for _ in range(count)]
