"""A task that misbehaves on purpose, chosen by the candidate it is given.

The candidate is ``k*x``; the task reads k from f(1) and then raises (k=100), stalls past any
sensible time limit (k=200), kills its own worker process once (k=300) or every time (k=400)
as the model is built, or once in the middle of training, after a few epochs (k=500).
Anything else trains normally on a tiny synthetic problem.
"""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from afsearch.tasks import BaseTask, TaskData, TaskSettings

MARKERS = "AFSEARCH_FAULTY_DIR"


class _Slow(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.3)
        return x


class _KillOnce(nn.Module):
    """Kills its process at its ``after``-th call, the first time only (a marker file says)."""

    def __init__(self, marker: Path, after: int) -> None:
        super().__init__()
        self.marker, self.after, self.calls = marker, after, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.after and not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return x


class FaultyTask(BaseTask):
    name = "faulty"
    description = "test task that fails on purpose"
    metric = "val_accuracy"
    mode = "max"
    default_settings = TaskSettings(epochs=3, batch_size=64, lr=1e-2)

    def build_data(self, seed: int) -> TaskData:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(600, 8, generator=g)
        y = (x[:, 0] > 0).long()
        return TaskData(x[:400], y[:400], x[400:500], y[400:500], x[500:], y[500:])

    def build_model(self, make_activation: Any) -> nn.Module:
        act = make_activation()
        value = float(act(torch.tensor([1.0]))[0])
        k = round(value) if math.isfinite(value) else 0
        if k == 100:
            raise RuntimeError("faulty task: this candidate raises inside training")
        if k in (300, 400):
            marker = Path(os.environ[MARKERS]) / f"killed-{k}"
            if k == 400 or not marker.exists():
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
        layers: list[nn.Module] = [nn.Linear(8, 16), act, nn.Linear(16, 2)]
        if k == 200:
            layers.insert(0, _Slow())
        if k == 500:
            # 7 training batches and 1 validation batch an epoch: dies early in epoch 5.
            layers.insert(0, _KillOnce(Path(os.environ[MARKERS]) / "killed-500", after=34))
        return nn.Sequential(*layers)
