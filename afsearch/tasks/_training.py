"""The one training loop every task shares, and what it yields.

:func:`train` is :meth:`BaseTask.fit <afsearch.tasks.BaseTask.fit>` once its arguments are
checked: it builds the task's model around the activation, trains it epoch by epoch (optimizer,
learning-rate schedule, mixed precision, gradient clipping), scores it with :func:`evaluate`,
and yields one :class:`EpochResult` per epoch, so a Ray Tune trial can report and be stopped
early. A task changes the loop only through its hooks (``build_model``, ``prepare_batch``,
``loss_fn``, ``training_loss``, ``steps_per_epoch``, ``loss_metrics``, ``evaluate_test``); a
task that takes derivatives of the activation refuses a compiled candidate that lacks them.
The optimizer, schedule and mixed precision come from :mod:`afsearch.tasks._optim`, the scoring
from :mod:`afsearch.tasks._evaluation` (callers still import both from here), the batches from
:mod:`afsearch.tasks._batches`: tensors indexed on the device, or datasets and DataLoaders
streamed to it (:mod:`afsearch.tasks._streaming`).
"""

from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate
from afsearch.tasks._batches import BaseBatches, batch_source
from afsearch.tasks._evaluation import CollapseCheck, evaluate  # noqa: F401 - imported from here
from afsearch.tasks._optim import amp_mode, autocast, make_optimizer, make_scheduler
from afsearch.tasks._sites import site_activation

if TYPE_CHECKING:
    from afsearch.tasks._base import BaseTask, TaskData, TaskDatasets

# On CUDA a finiteness check forces a sync, so the running loss is checked every few batches;
# a NaN or inf never leaves the running sum, so a late check still catches it.
_CUDA_CHECK_EVERY = 8


@dataclass
class EpochResult:
    """What one epoch of :meth:`BaseTask.fit` produced.

    ``metrics`` always holds the task's metric, ``val_loss``, ``train_loss`` and
    ``epoch_seconds``; the last epoch also holds ``test_*`` metrics, for reporting only. When
    ``diverged`` is true the losses are NaN and the loop stops after this result.
    """

    epoch: int
    metrics: dict[str, float]
    diverged: bool = False
    #: Why the training counts as diverged, when it is not a NaN or infinite loss.
    reason: str | None = None
    #: The training state after this epoch (model, optimizer, schedule, loss scaler, random
    #: generators), built on call; pass it to ``fit(resume=...)`` to continue from here.
    state: Callable[[], dict[str, Any]] | None = field(default=None, repr=False, compare=False)


def resolve_device(device: str | torch.device) -> torch.device:
    """A torch device that exists here; a bare ``"cuda"`` becomes the current CUDA device."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise AfsearchError(
            f"device must be a torch device such as 'cpu', 'cuda' or 'cuda:1', got {device!r}."
        ) from error
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise AfsearchError(
                f"device {device!r} needs CUDA, but this torch build or machine has none; "
                "use device 'cpu'."
            )
        if resolved.index is None:
            resolved = torch.device("cuda", torch.cuda.current_device())
    return resolved


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CUDA included) for one reproducible run."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def train(
    task: BaseTask,
    make_activation: Callable[[], nn.Module],
    seed: int,
    device: torch.device,
    resume: Mapping[str, Any] | None = None,
) -> Iterator[EpochResult]:
    """Train a fresh model of ``task`` and yield an :class:`EpochResult` per epoch.

    The arguments are those :meth:`BaseTask.fit <afsearch.tasks.BaseTask.fit>` has checked;
    the model is left in ``task.last_model``.
    """
    loop = _set_up(task, make_activation, seed, device)
    first = 1 if resume is None else loop.restore(resume)
    collapse: CollapseCheck | None = None
    for epoch in range(first, task.settings.epochs + 1):
        start = time.perf_counter()
        train_loss = loop.train_epoch()
        if train_loss is None:
            yield _diverged(task.metric, epoch, start)
            return
        metrics = loop.evaluate_epoch(epoch, train_loss)
        # A stream's validation targets are known once they have been read.
        collapse = collapse or loop.source.collapse_check()
        result = _report(loop, epoch, metrics, start, collapse)
        yield result
        if result.diverged:
            return


@dataclass
class _Loop:
    """One fit's model and what steps it: the state that :func:`train`'s stages share."""

    task: BaseTask
    data: TaskData | TaskDatasets
    source: BaseBatches
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    generator: torch.Generator
    device: torch.device
    use_amp: bool
    amp_dtype: torch.dtype
    grad_clip: float | None
    steps_per_epoch: int
    check_every: int

    def train_epoch(self) -> float | None:
        """One epoch of optimizer steps: the mean training loss, ``None`` once it is not
        finite (the step on that batch is not taken)."""
        task = self.task
        self.model.train()
        loss_sum = torch.zeros((), device=self.device)
        seen = 0
        batches = self.source.train(self.steps_per_epoch, self.generator)
        for step, (x_stored, y) in enumerate(batches):
            x = task.prepare_batch(x_stored, train=True, generator=self.generator)
            with autocast(self.device, self.use_amp, self.amp_dtype):
                loss = task.training_loss(self.model, x, y)
            loss_sum += loss.detach() * y.shape[0]
            seen += y.shape[0]
            last = step == self.steps_per_epoch - 1
            if (step % self.check_every == 0 or last) and not torch.isfinite(loss_sum):
                return None
            self._step(loss)
        return loss_sum.item() / seen

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), float(self.grad_clip))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()

    def evaluate_epoch(self, epoch: int, train_loss: float) -> dict[str, float]:
        """The epoch's metrics but its duration; the last epoch adds the test metrics."""
        metrics = {"train_loss": train_loss}
        metrics.update(
            self.source.evaluate(self.model, "val", self.use_amp, self.amp_dtype, self.generator)
        )
        if epoch == self.task.settings.epochs and math.isfinite(metrics["val_loss"]):
            metrics.update(self.task.evaluate_test(self.model, self.data, self.device))
        return metrics

    def state(self, epoch: int) -> dict[str, Any]:
        """The checkpoint after ``epoch``, as :meth:`restore` takes it."""
        # Python's and NumPy's generators are not used once the data is built; torch's are.
        return {
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "batches": self.source.state(),
        }

    def restore(self, resume: Mapping[str, Any]) -> int:
        """Load a checkpoint of :meth:`state`; returns the epoch to continue with."""
        try:
            self.model.load_state_dict(resume["model"])
            self.optimizer.load_state_dict(resume["optimizer"])
            self.scheduler.load_state_dict(resume["scheduler"])
            self.scaler.load_state_dict(resume["scaler"])
            self.generator.set_state(resume["generator"])
            torch.set_rng_state(resume["torch_rng"])
            if self.device.type == "cuda" and resume["cuda_rng"]:
                torch.cuda.set_rng_state_all(resume["cuda_rng"])
            self.source.restore(resume.get("batches", {}))
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise AfsearchError(
                f"The saved training state does not fit this task's model: {exc}"
            ) from exc
        return int(resume["epoch"]) + 1


def _set_up(
    task: BaseTask, make_activation: Callable[[], nn.Module], seed: int, device: torch.device
) -> _Loop:
    """Seed, build the data and the model, and the optimizer, schedule and loss scaler."""
    settings = task.settings
    seed_everything(seed)
    data = task.data(seed, device)
    source = batch_source(task, data, device)
    source.seed(seed)
    model, sites = _build_model(task, make_activation, device)
    optimizer = make_optimizer(
        model,
        settings,
        activation_params=[p for site in sites for p in site.parameters()],
        lr_factor=float(task.options["activation_lr_factor"]),
        activation_weight_decay=float(task.options["activation_weight_decay"]),
    )
    steps_per_epoch = source.steps_per_epoch()
    scheduler = make_scheduler(
        optimizer, task.options["schedule"], settings.epochs * steps_per_epoch
    )
    use_amp, amp_dtype = amp_mode(task.options, device)
    # bfloat16 has float32's range, so only float16 needs loss scaling.
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return _Loop(
        task=task,
        data=data,
        source=source,
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=scaler,
        generator=generator,
        device=device,
        use_amp=use_amp,
        amp_dtype=amp_dtype,
        grad_clip=task.options["grad_clip"],
        steps_per_epoch=steps_per_epoch,
        check_every=_CUDA_CHECK_EVERY if device.type == "cuda" else 1,
    )


def _build_model(
    task: BaseTask, make_activation: Callable[[], nn.Module], device: torch.device
) -> tuple[nn.Module, list[nn.Module]]:
    """The task's model on ``device`` (also left in ``task.last_model``), and its sites'
    activations."""
    sites: list[nn.Module] = []

    def make_site(channels: int | None = None) -> nn.Module:
        # A network that names its sites' channels passes them on (tasks._sites).
        module = site_activation(make_activation, channels)
        sites.append(module)
        return module

    model = task.build_model(make_site).to(device)
    task.last_model = model
    if task.derivatives:
        # Compiled candidates carry their expression: one that is not smooth enough for the
        # task is refused before a step is taken (plain torch modules are the caller's choice).
        for candidate in {id(c): c for s in sites if (c := getattr(s, "candidate", None))}.values():
            if isinstance(candidate, Candidate):
                task.check_candidate(candidate)
    return model, sites


def _report(
    loop: _Loop, epoch: int, metrics: dict[str, float], start: float, collapse: CollapseCheck
) -> EpochResult:
    """The epoch's result: its duration, and whether the training diverged or collapsed."""
    metrics["epoch_seconds"] = time.perf_counter() - start
    reason = collapse.update(metrics)
    diverged = not math.isfinite(metrics["val_loss"]) or reason is not None
    return EpochResult(
        epoch=epoch,
        metrics=metrics,
        diverged=diverged,
        reason=reason,
        state=functools.partial(loop.state, epoch),
    )


def _diverged(metric: str, epoch: int, start: float) -> EpochResult:
    metrics = {key: math.nan for key in {"train_loss", "val_loss", metric}}
    metrics["epoch_seconds"] = time.perf_counter() - start
    return EpochResult(epoch=epoch, metrics=metrics, diverged=True)
