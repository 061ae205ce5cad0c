"""The Ray Tune trainable: trains one candidate on a worker and reports each epoch.

Workers never touch the database: everything they learn goes back to the driver through
``tune.report``. The candidate arrives as a family config (built through the registry and the
allow-list parser), never as code.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.orchestrator._device import device_label
from afsearch.trial import Checkpoint, Reuse, TrialSpec
from afsearch.trial.inputs import InputRecorder
from afsearch.trial.report import (
    ACTIVATION_COST,
    ACTIVATION_MEMORY,
    DEVICE,
    DIVERGED,
    EPOCH,
    FINAL,
    LEARNED,
    NODE,
    REFUSED,
    RESUMED_AT,
    REUSED_FROM,
    TIMED_OUT,
    WHY_DIVERGED,
    worst,
)

#: File of a trial checkpoint that holds the training state of each seed.
STATE_FILE = "state.pt"
#: Tasks a worker keeps between its trials (the newest last), each with the data it built:
#: a study's trials share their task's settings, so every trial after a worker's first trains
#: on data built once. A few, since a task's data can be large (CIFAR-10 about 180 MB).
TASKS_KEPT = 2
_TASKS: dict[tuple[str, str], Any] = {}


def worker_task(name: str, settings: Any) -> Any:
    """The task ``name`` with ``settings`` for a trial on this worker: the one an earlier trial
    of the same task and settings built (its data built once per seed and device), else new."""
    from afsearch.tasks import get_task

    key = (name, repr(settings))
    task = _TASKS.pop(key, None)
    if task is None:
        task = get_task(name, settings)
    _TASKS[key] = task  # the newest last
    while len(_TASKS) > TASKS_KEPT:
        del _TASKS[next(iter(_TASKS))]
    return task


def _learned(modules: list[Any], per_site: bool = False) -> dict[str, Any]:
    """The learned values: mean over sites, each site's value (a per-channel parameter's mean
    over its channels) and, for per-channel parameters, each site's vector. In a per-site
    trial, site k's parameters are named ``site<k>.<name>``."""
    values: dict[str, list[float]] = {}
    channels: dict[str, list[list[float]]] = {}
    for k, m in enumerate(modules):
        prefix = f"site{k}." if per_site else ""
        vectors = m.channel_values()
        for name, v in m.param_values().items():
            if name in m.candidate.trainable:
                values.setdefault(prefix + name, []).append(v)
                if name in vectors:
                    channels.setdefault(prefix + name, []).append(vectors[name])
    out: dict[str, Any] = {
        "mean": {k: sum(v) / len(v) for k, v in values.items()},
        "per_site": values,
    }
    if channels:
        out["per_channel"] = channels
    return out


def train_candidate(config: dict[str, Any]) -> None:
    """Train the candidate of the trial's :class:`TrialSpec` with its task; report each epoch.

    Its stages: replay a known result, or place the trial (node, device, task) and let the
    task refuse the candidate; build the activation factory and the runs (one per training
    seed, continued from a checkpoint if there is one); then one report per epoch.
    """
    from ray import tune

    from afsearch.activations import build_activation
    from afsearch.tasks import ActivationFactory, FunctionTask

    spec = TrialSpec.of_config(config)
    if spec.reuse:
        _replay(spec.reuse)
        return
    node, device = _place(spec)
    candidate = build_activation(spec.activation)
    task = worker_task(spec.task, spec.settings)
    refused = next(
        (r for c in getattr(candidate, "sites", [candidate]) if (r := _refusal(task, c))), None
    )
    if refused is not None:
        _report_refused(refused, spec.metric, spec.mode, node)
        return
    if isinstance(task, FunctionTask):  # its trial.should_checkpoint() follows the spec
        task.checkpoint_every = spec.checkpoint_every or 0
    keys = [str(r["id"]) for r in spec.candidate.get("sites", [spec.candidate])]
    factory = ActivationFactory(candidate, keys, spec.compile, task.derivatives, device)
    seeds = spec.training_seeds
    # Tune's own retry of this trial brings its checkpoint; a resumed study names the one the
    # interrupted trial left.
    saved = _load_state(tune.get_checkpoint(), spec.resume_from, len(seeds), spec.settings)
    done = int(saved["epoch"]) if saved else 0
    # The first run's sites report the range of inputs they saw (afsearch.trial.inputs).
    inputs = InputRecorder()
    runs = [
        task.fit(
            inputs.watch(factory.maker()) if k == 0 else factory.maker(),
            seed=s,
            device=device,
            resume=saved["runs"][k] if saved else None,
        )
        for k, s in enumerate(seeds)
    ]
    _train_epochs(spec, factory, runs, done, node, inputs)


def _place(spec: TrialSpec) -> tuple[str, str]:
    """The trial's node (``"<ip> <node id>"``) and torch device; its CPU threads set."""
    import ray
    import torch

    context = ray.get_runtime_context()
    node = f"{ray.util.get_node_ip_address()} {context.get_node_id()[:12]}"
    torch.set_num_threads(max(1, int(spec.cpus_per_trial)))
    gpu = bool(ray.get_gpu_ids()) and torch.cuda.is_available()
    return node, "cuda" if gpu else "cpu"


def _train_epochs(
    spec: TrialSpec, factory: Any, runs: list[Any], done: int, node: str, inputs: InputRecorder
) -> None:
    """Advance every run one epoch at a time and report their merged metrics, until the last
    epoch, a divergence or the time limit; checkpoint every ``checkpoint_every`` epochs."""
    from ray import tune

    every, min_gap = spec.checkpoint_every, spec.checkpoint_min_seconds
    timeout = spec.trial_timeout_s
    start = saved_at = time.monotonic()
    epochs = spec.settings.epochs
    for epoch in range(done + 1, epochs + 1):
        results = [next(run, None) for run in runs]
        if any(r is None for r in results):
            break
        merged, diverged, why = _merge(results, spec.metric)
        if not diverged and spec.metric not in merged:
            raise AfsearchError(_no_metric(spec, merged))
        # compile: auto decides after the first epoch; the cost is measured once per function
        # on this worker.
        factory.after_epoch(epoch, merged.get("epoch_seconds"), epochs)
        cost = factory.cost()
        merged.update({ACTIVATION_COST: cost.time, ACTIVATION_MEMORY: cost.memory})
        timed_out = timeout is not None and time.monotonic() - start > timeout and epoch < epochs
        last = diverged or timed_out or epoch == epochs
        if diverged or not math.isfinite(merged.get(spec.metric, math.nan)):
            merged[spec.metric] = worst(spec.mode)
            diverged = last = True
        report: dict[str, Any] = {
            **merged,
            EPOCH: epoch,
            FINAL: int(last and not timed_out),
            DIVERGED: int(diverged),
            TIMED_OUT: int(timed_out),
            REUSED_FROM: -1,
            NODE: node,
            DEVICE: device_label(),
            # Every epoch, so a trial stopped early by the scheduler keeps its learned values.
            LEARNED: json.dumps({**_learned(factory.runs[0], factory.per_site), **inputs.take()}),
            RESUMED_AT: done,
        }
        if why:
            report[WHY_DIVERGED] = why
        # Each checkpoint costs the driver one transaction: min_gap keeps them rare on short
        # epochs, where starting over costs little anyway.
        saveable = all(
            getattr(r, "state", None) is not None for r in results
        )  # a training function may not save
        if (
            every
            and saveable
            and not last
            and epoch % every == 0
            and time.monotonic() - saved_at >= min_gap
        ):
            _report_with_checkpoint(report, epoch, results)
            saved_at = time.monotonic()
        else:
            tune.report(report)
        if last:
            return


def _no_metric(spec: TrialSpec, merged: dict[str, float]) -> str:
    reported = ", ".join(sorted(k for k in merged if k != "epoch_seconds")) or "nothing"
    return (
        f"Task {spec.task!r} reported no {spec.metric!r}, the metric the space names; it "
        f"reported {reported}. Name one of those as the space's metric, or report it."
    )


def _merge(results: list[Any], metric: str) -> tuple[dict[str, float], bool, str | None]:
    """One epoch of every seed as one report: each metric's mean (the seconds summed) and the
    metric's spread over the seeds; whether any seed diverged, and why."""
    diverged = any(r.diverged for r in results)
    why = next((r.reason for r in results if r.reason), None)
    merged: dict[str, float] = {}
    keys = set().union(*(r.metrics for r in results))
    for key in keys:
        vals = [r.metrics[key] for r in results if key in r.metrics]
        merged[key] = sum(vals) if key == "epoch_seconds" else sum(vals) / len(vals)
    if len(results) > 1 and metric in keys:
        vals = [r.metrics[metric] for r in results]
        mean = merged[metric]
        merged[f"{metric}_std"] = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
    return merged, diverged, why


def _refusal(task: Any, candidate: Any) -> str | None:
    """The task's sentence refusing the candidate (one not smooth enough for a PINN), or None."""
    from afsearch.exceptions import AfsearchError

    try:
        task.check_candidate(candidate)
    except AfsearchError as exc:
        return str(exc)
    return None


def _report_refused(why: str, metric: str, mode: str, node: str) -> None:
    """End a trial the task refused: one report, no training; the driver stores it as failed
    with ``why`` as its error (and Optuna sees a failed trial)."""
    from ray import tune

    tune.report(
        {
            metric: worst(mode),
            EPOCH: 1,
            FINAL: 0,
            DIVERGED: 1,  # no epoch metric is stored, as for a training that diverged
            TIMED_OUT: 0,
            REUSED_FROM: -1,
            NODE: node,
            REFUSED: why,
        }
    )


def _replay(reuse: Reuse) -> None:
    """Report the stored epochs of an identical finished trial instead of training."""
    from ray import tune

    rows = reuse.epochs
    for i, row in enumerate(rows):
        tune.report(
            {
                **row,
                EPOCH: i + 1,
                FINAL: int(i == len(rows) - 1),
                DIVERGED: 0,
                TIMED_OUT: 0,
                REUSED_FROM: reuse.trial_id,
                LEARNED: json.dumps(reuse.learned_params or {}),
            }
        )


def _report_with_checkpoint(report: dict[str, Any], epoch: int, results: list[Any]) -> None:
    """Report ``report`` with the training state of every seed after ``epoch``."""
    import tempfile
    from pathlib import Path

    import torch
    from ray import tune

    with tempfile.TemporaryDirectory(prefix="afsearch-ckpt-") as tmp:
        state = {"epoch": epoch, "runs": [r.state() for r in results]}
        torch.save(state, Path(tmp) / STATE_FILE)
        checkpoint = tune.Checkpoint.from_directory(tmp)
        checkpoint.set_metadata({"epoch": epoch})
        # Ray copies the directory to the run's storage before report returns.
        tune.report(report, checkpoint=checkpoint)


def _load_state(
    checkpoint: Any, resume_from: Checkpoint | None, n_seeds: int, settings: Any
) -> dict[str, Any] | None:
    """The saved training state to continue from, or ``None`` to start at epoch 1.

    Loaded with ``weights_only``: tensors and plain values only, never code, whatever the
    file holds. A checkpoint that is gone or does not fit starts the trial over (its epochs are
    reported again and replace the stored ones).
    """
    import sys
    from pathlib import Path

    import torch
    from ray import tune

    def start_over(why: str) -> dict[str, Any] | None:
        print(f"afsearch: {why}; training from epoch 1", file=sys.stderr)
        return None

    if checkpoint is None and resume_from:
        try:
            checkpoint = tune.Checkpoint(resume_from.location)
        except Exception as exc:  # any unusable location means starting over
            return start_over(f"checkpoint not usable ({exc})")
    if checkpoint is None:
        return None
    try:
        with checkpoint.as_directory() as folder:
            state = torch.load(Path(folder) / STATE_FILE, map_location="cpu", weights_only=True)
    except Exception as exc:
        return start_over(f"checkpoint not readable ({exc})")
    epoch = state.get("epoch") if isinstance(state, dict) else None
    runs = state.get("runs") if isinstance(state, dict) else None
    if (
        not isinstance(epoch, int)
        or not 1 <= epoch < settings.epochs
        or not isinstance(runs, list)
        or len(runs) != n_seeds
    ):
        return start_over("checkpoint does not match this trial")
    return state
