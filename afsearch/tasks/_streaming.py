"""The batches of a :class:`~afsearch.tasks.TaskDatasets`: DataLoaders streamed to the device.

A split that is a Dataset gets a DataLoader made here: the settings' ``batch_size``, the options
``num_workers`` and ``pin_memory`` (pinned only for a CUDA device), the training one shuffled.
A split that is a DataLoader is used as it is. Batches are copied to the device as they are
read, without blocking when they are pinned.

A fit is reproducible and resumable because every generator that shuffles is seeded by the fit's
seed and checkpointed: the generator of a DataLoader made here, and those of a given DataLoader
and its sampler. Workers are started afresh each pass (no ``persistent_workers``): a worker's
random transforms are then seeded from that generator each pass, as a resumed fit seeds them.
The collapse check reads the targets of the first validation pass, which afsearch holds anyway
(classification: the most common class; regression: the validation targets' own mean, since
the training targets' would take a pass over the training data).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sized
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset

from afsearch.exceptions import AfsearchError
from afsearch.tasks._base import BaseTask, TaskDatasets
from afsearch.tasks._batches import BaseBatches, Batch
from afsearch.tasks._evaluation import CollapseCheck, score

_NOT_A_PAIR = (
    "A batch of the {split!r} data of task {task!r} must be a pair (inputs, targets) of "
    "tensors, got {got}."
)
_NO_LENGTH = (
    "The 'train' data of task {task!r} must have a length (a map-style Dataset, or a DataLoader "
    "over one), so that an epoch has a number of steps; got {data!r}."
)
_EMPTY = "The {split!r} data of task {task!r} is empty; give it at least one example."


class LoaderBatches(BaseBatches):
    """The splits of a :class:`TaskDatasets` as DataLoaders, the training one shuffled by the
    seed :meth:`seed` is given."""

    def __init__(self, task: BaseTask, data: TaskDatasets, device: torch.device) -> None:
        super().__init__(task, device)
        self.data = data
        self.loaders: dict[str, DataLoader[Any]] = {}
        #: The generators that shuffle the training batches, once :meth:`seed` has seeded them.
        self.generators: list[torch.Generator] = []
        #: The targets of the last validation pass, gathered batch by batch.
        self.val_targets: list[torch.Tensor] = []

    def seed(self, seed: int) -> None:
        self.generators = _shuffling_generators(self.loader("train"))
        for generator in self.generators:
            generator.manual_seed(seed)

    def loader(self, split: str) -> DataLoader[Any]:
        """The DataLoader of ``split``, made on first use when the split is a Dataset."""
        if split not in self.loaders:
            self.loaders[split] = self._make_loader(split, getattr(self.data, split))
        return self.loaders[split]

    def _make_loader(self, split: str, data: Dataset[Any] | DataLoader[Any]) -> DataLoader[Any]:
        if isinstance(data, DataLoader):
            return data
        if isinstance(data, Sized) and len(data) == 0:
            raise AfsearchError(_EMPTY.format(split=split, task=self.task.name))
        options = self.task.options
        return DataLoader(
            data,
            batch_size=self.task.settings.batch_size,
            # An iterable dataset gives its examples in its own order.
            shuffle=split == "train" and not isinstance(data, IterableDataset),
            num_workers=options["num_workers"],
            pin_memory=bool(options["pin_memory"]) and self.device.type == "cuda",
            # A generator of its own (the training one seeded by seed()): loading draws nothing
            # from torch's global generator, which dropout uses.
            generator=torch.Generator(),
        )

    def steps_per_epoch(self) -> int:
        train = self.loader("train")
        # A task that decides its own steps keeps deciding; otherwise an epoch is one pass.
        own = type(self.task).steps_per_epoch is not BaseTask.steps_per_epoch
        try:
            batches = len(train)
            examples = len(train.dataset) if own else 0  # type: ignore[arg-type]
        except TypeError:
            raise AfsearchError(_NO_LENGTH.format(task=self.task.name, data=train)) from None
        if batches == 0:
            raise AfsearchError(_EMPTY.format(split="train", task=self.task.name))
        return self.task.steps_per_epoch(examples) if own else batches

    def train(self, steps: int, generator: torch.Generator) -> Iterator[Batch]:
        loader = self.loader("train")
        batches = iter(loader)
        for _ in range(steps):
            batch = next(batches, None)
            if batch is None:  # the pass ended before the epoch did: a fresh shuffle
                batches = iter(loader)
                batch = next(batches, None)
                if batch is None:
                    raise AfsearchError(_EMPTY.format(split="train", task=self.task.name))
            yield self._to_device(batch, "train", loader)

    def evaluate(
        self,
        model: nn.Module,
        split: str,
        use_amp: bool,
        amp_dtype: torch.dtype,
        generator: torch.Generator,
    ) -> dict[str, float]:
        loader = self.loader(split)
        targets: list[torch.Tensor] = []

        def batches() -> Iterator[Batch]:
            for batch in loader:
                x, y = self._to_device(batch, split, loader)
                targets.append(y)
                yield x, y

        metrics = score(
            self.task, model, batches(), targets, split, self.device, use_amp, amp_dtype, generator
        )
        if split == "val":
            self.val_targets = targets
        return metrics

    def collapse_check(self) -> CollapseCheck:
        return CollapseCheck.of_targets(self.task, torch.cat(self.val_targets))

    def sample(self, size: int, count: int, seed: int) -> list[Batch]:
        train = self.data.train
        if isinstance(train, DataLoader):
            loader = train
        else:
            generator = torch.Generator().manual_seed(seed)
            loader = DataLoader(train, batch_size=size, shuffle=True, generator=generator)
        batches = []
        for batch in loader:
            batches.append(_pair(batch, "train", self.task.name))
            if len(batches) == count:
                break
        return batches

    def state(self) -> dict[str, Any]:
        return {"shuffle": [g.get_state() for g in self.generators]}

    def restore(self, state: Mapping[str, Any]) -> None:
        saved = state["shuffle"]
        if len(saved) != len(self.generators):
            raise ValueError(
                f"it shuffles with {len(saved)} generators, this task's data with "
                f"{len(self.generators)}"
            )
        for generator, value in zip(self.generators, saved):
            generator.set_state(value)

    def _to_device(self, batch: object, split: str, loader: DataLoader[Any]) -> Batch:
        x, y = _pair(batch, split, self.task.name)
        # A pinned batch is copied while the device computes.
        non_blocking = loader.pin_memory and self.device.type == "cuda"
        return x.to(self.device, non_blocking=non_blocking), y.to(
            self.device, non_blocking=non_blocking
        )


def _pair(batch: object, split: str, task: str) -> Batch:
    """A loader's batch as ``(inputs, targets)``, or the sentence saying what it is instead."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        x, y = batch
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            return x, y
        got = f"a pair of {type(x).__name__} and {type(y).__name__}"
    elif isinstance(batch, (tuple, list)):
        got = f"a {type(batch).__name__} of {len(batch)} items"
    else:
        got = f"a {type(batch).__name__}"
    raise AfsearchError(_NOT_A_PAIR.format(split=split, task=task, got=got))


def _shuffling_generators(loader: DataLoader[Any]) -> list[torch.Generator]:
    """The generators that order ``loader``'s batches: its own and its sampler's, each once.

    A loader without any shuffles with torch's global generator, which the fit seeds and
    checkpoints already.
    """
    found: dict[int, torch.Generator] = {}
    samplers = [loader.sampler, getattr(loader.batch_sampler, "sampler", None)]
    for owner in (loader, *samplers):
        generator = getattr(owner, "generator", None)
        if isinstance(generator, torch.Generator):
            found.setdefault(id(generator), generator)
    return list(found.values())
