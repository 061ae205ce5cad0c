"""How a fit is scored after each epoch: the validation metrics, and whether it collapsed.

A collapse is a failure without a NaN: a training that had learned falls back to what a
constant prediction scores. The loop treats it as a divergence, so a search stops spending
epochs on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from afsearch.tasks._optim import autocast

if TYPE_CHECKING:
    from afsearch.tasks._base import BaseTask

# Evaluation runs in chunks so a large validation set never needs one huge activation tensor.
_EVAL_CHUNK = 1024


def evaluate(
    task: BaseTask,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    prefix: str,
    use_amp: bool,
    amp_dtype: torch.dtype,
    generator: torch.Generator,
) -> dict[str, float]:
    """The mean loss of ``model`` on ``(x, y)`` as ``{prefix}_loss``, and for classification
    the accuracy as ``{prefix}_accuracy``; ``x`` is fed through ``task.prepare_batch``."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device)
    with torch.no_grad():
        for start in range(0, x.shape[0], _EVAL_CHUNK):
            xb = task.prepare_batch(
                x[start : start + _EVAL_CHUNK], train=False, generator=generator
            )
            yb = y[start : start + _EVAL_CHUNK]
            with autocast(x.device, use_amp, amp_dtype):
                out = model(xb)
            loss_sum += task.loss_fn(out, yb) * yb.shape[0]
            if task.problem == "classification":
                correct += (out.argmax(dim=-1) == yb).sum()
    metrics = {f"{prefix}_loss": loss_sum.item() / x.shape[0]}
    if task.problem == "classification":
        metrics[f"{prefix}_accuracy"] = correct.item() / x.shape[0]
    metrics.update(task.loss_metrics(prefix, metrics[f"{prefix}_loss"], y))
    return metrics


class CollapseCheck:
    """Whether a training that had learned has fallen back to what a constant prediction
    scores, without a NaN: the validation accuracy of always predicting the most common class
    (classification), or the validation loss of predicting the training mean (regression).

    It has learned once it beat that floor clearly (accuracy by 0.1, or half the loss); it has
    collapsed when it is back within 0.02 of the accuracy, or at the loss.
    """

    LEARNED_BY = 0.1
    WITHIN = 0.02

    def __init__(self, key: str, floor: float, higher_is_better: bool) -> None:
        self.key, self.floor, self.higher = key, floor, higher_is_better
        self.learned = False

    @classmethod
    def of(cls, task: BaseTask, data: Any) -> CollapseCheck:
        y_train, y_val = data.y_train, data.y_val
        if task.problem == "classification":
            counts = torch.bincount(y_val.reshape(-1).long().cpu())
            majority = float(counts.max()) / max(1, int(counts.sum()))
            return cls("val_accuracy", majority, True)
        mean = y_train.float().mean(dim=0)
        floor = float(((y_val.float() - mean) ** 2).mean())
        return cls("val_loss", floor, False)

    def update(self, metrics: Mapping[str, float]) -> str | None:
        """Record one epoch; the reason the training collapsed, if it did."""
        value = metrics.get(self.key)
        if value is None or not math.isfinite(value) or not math.isfinite(self.floor):
            return None
        if self.higher:
            if value >= self.floor + self.LEARNED_BY:
                self.learned = True
            elif self.learned and value <= self.floor + self.WITHIN:
                return (
                    f"the training collapsed: {self.key} fell to {value:.4f}, what always "
                    f"predicting the most common class scores ({self.floor:.4f})"
                )
            return None
        if value <= self.floor / 2:
            self.learned = True
        elif self.learned and value >= self.floor:
            return (
                f"the training collapsed: {self.key} rose to {value:.4g}, above the loss of "
                f"predicting the training mean ({self.floor:.4g})"
            )
        return None
