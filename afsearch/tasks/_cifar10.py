"""``cifar10-resnet20``: ResNet-20 on CIFAR-10 read from a local directory.

Nothing is downloaded: put the python version of CIFAR-10 (``cifar-10-batches-py``) in
``options["data_dir"]``. Images stay uint8 on the device; cropping, flipping and normalising
happen per batch on the device. Defaults follow He et al. 2016 with a cosine schedule: SGD with
Nesterov momentum 0.9, lr 0.1, weight decay 5e-4, batch 128, bfloat16 autocast on CUDA.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from afsearch.tasks._base import BaseTask, TaskData
from afsearch.tasks._registry import register_task
from afsearch.tasks._settings import TaskSettings

if TYPE_CHECKING:
    import torch
    from torch import nn


_PAD = 4
_SIZE = 32


def random_crop_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per image: a random 32x32 crop of the zero-padded image, mirrored with probability 1/2."""
    import torch
    import torch.nn.functional as F

    batch, channels = x.shape[0], x.shape[1]
    device = x.device
    padded = F.pad(x, (_PAD, _PAD, _PAD, _PAD))
    span = torch.arange(_SIZE, device=device)
    top = torch.randint(0, 2 * _PAD + 1, (batch, 1), generator=generator, device=device)
    left = torch.randint(0, 2 * _PAD + 1, (batch, 1), generator=generator, device=device)
    rows, cols = top + span, left + span
    flip = torch.rand(batch, 1, generator=generator, device=device) < 0.5
    cols = torch.where(flip, cols.flip(1), cols)  # reading columns backwards mirrors the image
    return padded[
        torch.arange(batch, device=device)[:, None, None, None],
        torch.arange(channels, device=device)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


@functools.lru_cache(maxsize=8)
def _channel_stats(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    # Made once per device: a fresh host-to-GPU copy every batch would stall the GPU queue.
    import torch

    from afsearch.tasks._data import CIFAR_MEAN, CIFAR_STD

    mean = torch.tensor(CIFAR_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD, device=device).view(1, 3, 1, 1)
    return mean, std


def normalise(x: torch.Tensor) -> torch.Tensor:
    """uint8 images to floats with the CIFAR-10 channel mean and std."""
    mean, std = _channel_stats(x.device)
    return (x.float() / 255.0 - mean) / std


@register_task
class CIFAR10ResNet20(BaseTask):
    """Classify CIFAR-10 with ResNet-20 (option A shortcuts), the activation at every ReLU.

    ``n_val`` training images (chosen by the seed) validate; ``subset`` trains on only the first
    N of the rest, for quick runs.
    """

    name = "cifar10-resnet20"
    description = "CIFAR-10 from options['data_dir'] (never downloaded), ResNet-20"
    metric = "val_accuracy"
    mode = "max"
    default_settings = TaskSettings(
        epochs=30,
        batch_size=128,
        lr=0.1,
        weight_decay=5e-4,
        optimizer="sgd",
        options={
            "data_dir": None,
            "n_val": 5000,
            "subset": None,
            "amp": True,
            "schedule": "cosine",
        },
    )
    smoke_options: ClassVar[dict[str, Any]] = {"n_val": 10, "subset": 64}

    def check_options(self) -> None:
        from afsearch.tasks._data import find_cifar_folder

        data_dir = self.options["data_dir"]
        if not isinstance(data_dir, (str, Path)):
            raise self.option_error(
                "data_dir",
                "the directory holding CIFAR-10's 'cifar-10-batches-py' (python version, "
                "put there by you: afsearch downloads nothing)",
            )
        find_cifar_folder(str(data_dir))  # fail before a search starts, not in every trial
        self.check_at_least(1, "n_val")
        subset = self.options["subset"]
        if subset is not None and (isinstance(subset, bool) or not isinstance(subset, int)):
            raise self.option_error("subset", "an integer of at least 1 or None")
        if subset is not None:
            self.check_at_least(1, "subset")

    def build_data(self, seed: int) -> TaskData:
        from afsearch.tasks._data import cifar10_data

        return cifar10_data(
            seed,
            data_dir=str(self.options["data_dir"]),
            n_val=self.options["n_val"],
            subset=self.options["subset"],
        )

    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        from afsearch.tasks._networks import ResNet20

        return ResNet20(make_activation)

    def prepare_batch(
        self, x: torch.Tensor, *, train: bool, generator: torch.Generator
    ) -> torch.Tensor:
        if train:
            x = random_crop_flip(x, generator)
        return normalise(x)
