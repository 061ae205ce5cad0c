"""A user's own task, loaded by import path in the registry tests; never registered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from afsearch.tasks import BaseTask, TaskData, TaskSettings


class XorTask(BaseTask):
    name = "xor"
    description = "points labelled by the sign of x0 * x1, a one-hidden-layer MLP"
    metric = "val_accuracy"
    mode = "max"
    default_settings = TaskSettings(epochs=2, batch_size=32, options={"n": 300})

    def build_data(self, seed: int) -> TaskData:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(self.options["n"], 2, generator=g)
        y = (x[:, 0] * x[:, 1] > 0).long()
        a, b = len(y) // 2, 3 * len(y) // 4
        return TaskData(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])

    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        return nn.Sequential(nn.Linear(2, 16), make_activation(), nn.Linear(16, 2))


def make_xor_task(settings: TaskSettings | None) -> XorTask:
    return XorTask(settings)


def not_a_task(settings: Any) -> str:
    return "nope"


NOT_CALLABLE = 3
