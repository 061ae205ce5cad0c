"""A dry run of a task before a search: build its data and network, take one training step on
the CPU with a standard activation, and list the metrics it reports.

A shape error in ``build_model`` or a metric the task never reports is then found in seconds,
not halfway through a launch. A training function has no step apart from its loop, so its
dry run trains it for one epoch and reads its first report.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from afsearch.exceptions import AfsearchError


@dataclass(frozen=True)
class DryRun:
    """What a dry run did: the activation sites it built, what it trained on, the metrics the
    task reported and how long it took."""

    sites: int
    trained: str
    metrics: dict[str, float]
    seconds: float


def dry_run(task: Any) -> DryRun:
    """Build ``task``'s data and network with ReLU at every site, take one training step and
    score one validation batch on the CPU (a training function: one epoch)."""
    from afsearch.tasks._function import FunctionTask

    start = time.perf_counter()
    try:
        if isinstance(task, FunctionTask):
            sites, trained, metrics = _function_epoch(task)
        else:
            sites, trained, metrics = _one_batch(task)
    except AfsearchError:
        raise
    except Exception as exc:  # the user's code: any failure is the sentence's subject
        raise AfsearchError(
            f"The dry run of task {task.name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    return DryRun(sites, trained, metrics, time.perf_counter() - start)


def _relu_sites() -> tuple[list[Any], Any]:
    from torch import nn

    sites: list[Any] = []

    def make(channels: int | None = None, **_: Any) -> nn.Module:
        sites.append(nn.ReLU())
        return sites[-1]

    return sites, make


def _function_epoch(task: Any) -> tuple[int, str, dict[str, float]]:
    import dataclasses as dc

    sites, make = _relu_sites()
    one = type(task)(dc.replace(task.settings, epochs=1))
    run = one.fit(make, seed=0, device="cpu")
    try:
        first = next(run, None)
    finally:
        run.close()
    if first is None:
        raise AfsearchError(f"Training function {task.name!r} reported no epoch.")
    return len(sites), "one epoch of the training function", dict(first.metrics)


def _one_batch(task: Any) -> tuple[int, str, dict[str, float]]:
    import torch

    from afsearch.tasks._evaluation import evaluate
    from afsearch.tasks._training import seed_everything

    seed_everything(0)
    sites, make = _relu_sites()
    data = task.data(0)
    model = task.build_model(make)
    size = task.settings.batch_size
    generator = torch.Generator().manual_seed(0)
    x, y = _first(data, "train", size)
    model.train()
    loss = task.training_loss(model, task.prepare_batch(x, train=True, generator=generator), y)
    loss.backward()
    if not torch.isfinite(loss):
        raise AfsearchError(
            f"The dry run of task {task.name!r} gave a non-finite loss ({loss.item()}) on its "
            "first batch with ReLU."
        )
    x_val, y_val = _first(data, "val", size)
    metrics = {"train_loss": float(loss.detach())}
    metrics.update(evaluate(task, model, x_val, y_val, "val", False, torch.float32, generator))
    return len(sites), f"one batch of {x.shape[0]} forward and backward", metrics


def _first(data: Any, split: str, size: int) -> tuple[Any, Any]:
    """The first ``size`` examples of a split, from tensors or from a dataset or loader."""
    if dataclasses.is_dataclass(data) and hasattr(data, f"x_{split}"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if hasattr(x, "shape"):
            return x[:size], y[:size]
    source = getattr(data, split, None)
    if source is None:
        raise AfsearchError(f"The task's data has no {split!r} split to take a batch from.")
    if hasattr(source, "__getitem__") and not hasattr(source, "batch_size"):
        from torch.utils.data import default_collate

        x, y = default_collate([source[i] for i in range(min(size, len(source)))])
        return x, y
    x, y = next(iter(source))
    return x, y
