"""``inr-image``: an implicit neural representation, an MLP from pixel coordinates to colour.

The network is fitted to the pixels of an image at even rows and even columns (a quarter of a
``size x size`` grid) and scored on the pixels between, as in super-resolution, so the metric
measures the function it learned rather than how well it memorised: ``val_psnr``, the peak
signal-to-noise ratio ``10 log10(1 / MSE)`` of intensities in [0, 1], on a seeded half of the
held-out pixels (the other half is the test split). Images are those scikit-image ships inside
its wheel (:data:`IMAGES`); nothing is downloaded.

SIREN (Sitzmann et al. 2020) is ``sin(omega0 (W x + b))`` at every hidden layer with a special
initialisation; here ``omega0`` multiplies the pre-activation of every activation site, so a
candidate ``f`` sees ``omega0 (W x + b)`` and ``sin`` with ``omega0: 30, init: siren`` is SIREN
as published. ``init: siren`` draws the first layer's weights from ``U(-1/fan_in, 1/fan_in)``
and the others' from ``U(+-sqrt(6/fan_in)/omega0)`` (biases keep PyTorch's default); ``init:
default`` is PyTorch's. With the defaults (``omega0: 1``, ``init: default``) the network is a
plain MLP.

Measured (benchmarks/bench_tasks.py, docs/RESULTS.md): the standard activations and SIREN
differ by several dB on this task, unlike on the classification tasks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from afsearch.exceptions import choices
from afsearch.tasks._base import BaseTask, TaskData
from afsearch.tasks._registry import register_task
from afsearch.tasks._settings import TaskSettings

if TYPE_CHECKING:
    import torch
    from torch import nn


#: The 2-D pictures scikit-image ships inside its wheel (grey, or RGB).
IMAGES = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "cell",
    "checkerboard",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "retina",
    "rocket",
    "shepp_logan_phantom",
    "text",
)
INITS = ("default", "siren")
# A perfect fit has PSNR infinity; the metric must stay finite.
_MIN_MSE = 1e-20


@functools.lru_cache(maxsize=8)
def load_image(name: str, size: int) -> np.ndarray:
    """The image ``name`` of :data:`IMAGES` cropped to its central square and resized to
    ``size x size``, as float32 of shape ``(size, size, channels)`` in [0, 1]."""
    import skimage.data
    from skimage.transform import resize
    from skimage.util import img_as_float32

    image = img_as_float32(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = image[:, :, None]
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side]
    out = resize(square, (size, size), order=1, anti_aliasing=True, preserve_range=True)
    out = np.clip(out.astype(np.float32), 0.0, 1.0)
    out.setflags(write=False)
    return out


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB of intensities in [0, 1] with mean squared error ``mse``."""
    return -10.0 * math.log10(max(mse, _MIN_MSE))


def split_pixels(size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flat pixel indices of the training grid (even row and column), and the held-out pixels
    split in two halves by ``seed`` (validation, test)."""
    import torch

    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    on_grid = ((rows % 2 == 0) & (cols % 2 == 0)).reshape(-1)
    train = torch.nonzero(on_grid).reshape(-1)
    held = torch.nonzero(~on_grid).reshape(-1)
    generator = torch.Generator().manual_seed(seed)
    held = held[torch.randperm(held.numel(), generator=generator)]
    half = held.numel() // 2
    return train, held[:half].sort().values, held[half:].sort().values


@register_task
class INRImage(BaseTask):
    """Fit an image as a function of its pixel coordinates; score the pixels between.

    Full-batch Adam (``batch_size`` at least the training pixels) with ``steps_per_epoch``
    steps an epoch: the defaults take 10 x 50 = 500 steps on a 64 x 64 camera image with a
    ``2 -> 128 x 3 -> 1`` MLP.
    """

    name = "inr-image"
    description = (
        "image as a function of pixel coordinates (scikit-image camera, 64x64), MLP 3x128, "
        "PSNR on the pixels between the training grid; SIREN via omega0 and init"
    )
    metric = "val_psnr"
    mode = "max"
    problem = "regression"
    default_settings = TaskSettings(
        epochs=10,
        batch_size=65536,
        lr=1e-3,
        optimizer="adam",
        options={
            "image": "camera",
            "size": 64,
            "width": 128,
            "depth": 3,
            "omega0": 1.0,
            "init": "default",
            "steps_per_epoch": 50,
        },
    )
    smoke_options: ClassVar[dict[str, Any]] = {
        "size": 16,
        "width": 16,
        "depth": 2,
        "steps_per_epoch": 2,
    }

    def check_options(self) -> None:
        if self.options["image"] not in IMAGES:
            raise self.option_error(
                "image", f"one of the images scikit-image ships, {choices(IMAGES)}"
            )
        if self.options["init"] not in INITS:
            raise self.option_error("init", f"one of {choices(INITS)}")
        omega0 = self.options["omega0"]
        if not math.isfinite(omega0) or omega0 <= 0:
            raise self.option_error("omega0", "a finite number above 0")
        self.check_at_least(4, "size")
        self.check_at_least(1, "width", "depth", "steps_per_epoch")

    def steps_per_epoch(self, n_train: int) -> int:
        return int(self.options["steps_per_epoch"])

    def loss_metrics(self, prefix: str, loss: float, target: torch.Tensor) -> dict[str, float]:
        return {f"{prefix}_psnr": psnr(loss)}

    def build_data(self, seed: int) -> TaskData:
        import torch

        size = self.options["size"]
        image = torch.from_numpy(np.array(load_image(self.options["image"], size)))
        colours = image.reshape(size * size, -1)
        axis = torch.linspace(-1.0, 1.0, size)
        rows, cols = torch.meshgrid(axis, axis, indexing="ij")
        coords = torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1)
        train, val, test = split_pixels(size, seed)
        return TaskData(
            coords[train], colours[train], coords[val], colours[val], coords[test], colours[test]
        )

    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        from afsearch.tasks._networks import CoordinateMLP

        options = self.options
        channels = load_image(options["image"], options["size"]).shape[2]
        return CoordinateMLP(
            channels,
            make_activation,
            options["width"],
            options["depth"],
            float(options["omega0"]),
            options["init"] == "siren",
        )
