"""``mnist1d-mlp`` and ``mnist1d-cnn``: MNIST-1D (Greydanus 2020), generated offline.

The dataset is made by the ``mnist1d`` package from its templates (never its download path),
kept in memory per (num_samples, data_seed) and, with option ``cache_dir``, on disk. Of the 4,000
training signals, ``n_val`` (chosen by the seed) validate; the 1,000 test signals report.

Measured with ReLU and the defaults on one CPU thread (seeds 0, 1, 2): ``mnist1d-cnn`` reaches
92.2%, 91.6% and 92.8% test accuracy in 6 to 10 s a run (Greydanus reports about 94%, training
on all 4,000 signals for 200 epochs; 200 epochs here gave no gain over 60). ``mnist1d-mlp``
reaches 65% and 63% (seeds 0, 1) in about 2 s; the paper's MLP reports about 68%.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from afsearch.tasks._base import BaseTask, TaskData
from afsearch.tasks._registry import register_task
from afsearch.tasks._settings import TaskSettings

if TYPE_CHECKING:
    from torch import nn

_DATA_OPTIONS: dict[str, Any] = {
    "num_samples": 5000,  # train + test, split 80/20 by mnist1d
    "data_seed": 42,  # the mnist1d default, so the data match the paper's
    "n_val": 500,
    "cache_dir": None,
}
_SMOKE: dict[str, Any] = {"num_samples": 300, "n_val": 40}


class _MNIST1DTask(BaseTask):
    """Shared data handling of the MNIST-1D tasks; not registered itself."""

    metric = "val_accuracy"
    mode = "max"

    def check_options(self) -> None:
        self.check_at_least(100, "num_samples")
        self.check_at_least(1, "n_val")
        self.check_at_least(0, "data_seed")
        cache_dir = self.options["cache_dir"]
        if cache_dir is not None and not isinstance(cache_dir, (str, Path)):
            raise self.option_error("cache_dir", "a directory path or None")

    def build_data(self, seed: int) -> TaskData:
        from afsearch.tasks._data import mnist1d_data

        cache_dir = self.options["cache_dir"]
        return mnist1d_data(
            seed,
            num_samples=self.options["num_samples"],
            data_seed=self.options["data_seed"],
            n_val=self.options["n_val"],
            cache_dir=None if cache_dir is None else str(cache_dir),
        )


@register_task
class MNIST1DMLP(_MNIST1DTask):
    """Classify MNIST-1D with a ``40 -> width x depth -> 10`` MLP."""

    name = "mnist1d-mlp"
    description = "MNIST-1D generated offline, MLP 40 -> 100 -> 100 -> 10"
    # Without weight decay this MLP overfits 3,500 signals to about 58%.
    default_settings = TaskSettings(
        epochs=60,
        batch_size=100,
        lr=1e-2,
        weight_decay=0.05,
        optimizer="adamw",
        options={**_DATA_OPTIONS, "width": 100, "depth": 2},
    )
    smoke_options: ClassVar[dict[str, Any]] = _SMOKE

    def check_options(self) -> None:
        super().check_options()
        self.check_at_least(1, "width", "depth")

    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        from afsearch.tasks._networks import MLP

        return MLP(40, 10, make_activation, self.options["width"], self.options["depth"])


@register_task
class MNIST1DCNN(_MNIST1DTask):
    """Classify MNIST-1D with the three-layer 1-D CNN of Greydanus 2020 (25 channels)."""

    name = "mnist1d-cnn"
    description = "MNIST-1D generated offline, the paper's 1-D CNN (3 conv layers, 25 channels)"
    default_settings = TaskSettings(
        epochs=60,
        batch_size=100,
        lr=1e-2,
        optimizer="adam",
        options={**_DATA_OPTIONS, "channels": 25},
    )
    smoke_options: ClassVar[dict[str, Any]] = _SMOKE

    def check_options(self) -> None:
        super().check_options()
        self.check_at_least(1, "channels")

    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        from afsearch.tasks._networks import ConvNet1d

        return ConvNet1d(40, 10, make_activation, channels=self.options["channels"])
