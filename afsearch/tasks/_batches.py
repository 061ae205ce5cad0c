"""Where a fit's batches come from: one interface, :class:`BaseBatches`, for tensors kept whole
on the device (:class:`TensorBatches`, the built-in tasks) and for datasets or DataLoaders
streamed to it (:class:`~afsearch.tasks._streaming.LoaderBatches`).

The training loop asks its source for the steps of an epoch, the training batches, the scores
of a split, the collapse check and the state of its shuffling; :func:`batch_source` picks the
source for what :meth:`BaseTask.build_data <afsearch.tasks.BaseTask.build_data>` returned.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from afsearch.tasks._base import TaskData, TaskDatasets
from afsearch.tasks._evaluation import CollapseCheck, evaluate

if TYPE_CHECKING:
    from afsearch.tasks._base import BaseTask

Batch = tuple[torch.Tensor, torch.Tensor]


class BaseBatches(abc.ABC):
    """The batches of one task's data on one device."""

    def __init__(self, task: BaseTask, device: torch.device) -> None:
        self.task, self.device = task, device

    def seed(self, seed: int) -> None:  # noqa: B027 - nothing to seed by default
        """Seed the training shuffle with the fit's seed (tensors shuffle with the generator
        :meth:`train` is given)."""

    @abc.abstractmethod
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch."""

    @abc.abstractmethod
    def train(self, steps: int, generator: torch.Generator) -> Iterator[Batch]:
        """``steps`` training batches on the device, a fresh shuffle for each pass over the
        training set; ``generator`` is the fit's own, on the device."""

    @abc.abstractmethod
    def evaluate(
        self,
        model: nn.Module,
        split: str,
        use_amp: bool,
        amp_dtype: torch.dtype,
        generator: torch.Generator,
    ) -> dict[str, float]:
        """The metrics of ``model`` on split ``"val"`` or ``"test"``, keys prefixed by it."""

    @abc.abstractmethod
    def collapse_check(self) -> CollapseCheck:
        """The collapse check of the validation targets, asked once the first validation is
        scored."""

    @abc.abstractmethod
    def sample(self, size: int, count: int, seed: int) -> list[Batch]:
        """Up to ``count`` training batches of ``size`` examples in an order drawn by ``seed``,
        on the CPU, without ``prepare_batch``: for measuring a network at initialisation."""

    def state(self) -> dict[str, Any]:
        """What a checkpoint needs besides the fit's generators to shuffle as this one will."""
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:  # noqa: B027 - nothing by default
        """Load what :meth:`state` returned."""


class TensorBatches(BaseBatches):
    """A :class:`TaskData` on the device, indexed by a permutation drawn each pass."""

    def __init__(self, task: BaseTask, data: TaskData, device: torch.device) -> None:
        super().__init__(task, device)
        self.data = data
        self.n_train = data.x_train.shape[0]
        #: Batches in one pass over the training set; an epoch may take more or fewer steps.
        self.batches = math.ceil(self.n_train / task.settings.batch_size)

    def steps_per_epoch(self) -> int:
        return self.task.steps_per_epoch(self.n_train)

    def train(self, steps: int, generator: torch.Generator) -> Iterator[Batch]:
        data, batch_size = self.data, self.task.settings.batch_size
        for step in range(steps):
            batch = step % self.batches
            if batch == 0:  # a fresh shuffle for each pass over the training set
                perm = torch.randperm(self.n_train, generator=generator, device=self.device)
            idx = perm[batch * batch_size : (batch + 1) * batch_size]
            yield data.x_train[idx], data.y_train[idx]

    def evaluate(
        self,
        model: nn.Module,
        split: str,
        use_amp: bool,
        amp_dtype: torch.dtype,
        generator: torch.Generator,
    ) -> dict[str, float]:
        x = getattr(self.data, f"x_{split}").to(self.device)
        y = getattr(self.data, f"y_{split}").to(self.device)
        return evaluate(self.task, model, x, y, split, use_amp, amp_dtype, generator)

    def collapse_check(self) -> CollapseCheck:
        return CollapseCheck.of(self.task, self.data)

    def sample(self, size: int, count: int, seed: int) -> list[Batch]:
        x, y = self.data.x_train.cpu(), self.data.y_train.cpu()
        order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
        size = min(size, x.shape[0])
        return [(x[idx], y[idx]) for idx in order[: size * count].split(size)]


def batch_source(
    task: BaseTask, data: TaskData | TaskDatasets, device: torch.device
) -> BaseBatches:
    """The batches of ``data`` on ``device``."""
    if isinstance(data, TaskData):
        return TensorBatches(task, data, device)
    from afsearch.tasks._streaming import LoaderBatches

    return LoaderBatches(task, data, device)


def sample_batches(task: BaseTask, seed: int, size: int, count: int) -> list[Batch]:
    """Up to ``count`` training batches of ``size`` examples of ``task``'s data for ``seed``,
    on the CPU, in an order drawn by ``seed``; see :meth:`BaseBatches.sample`."""
    data = task.data(seed)
    return batch_source(task, data, torch.device("cpu")).sample(size, count, seed)
