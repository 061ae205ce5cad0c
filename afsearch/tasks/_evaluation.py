"""How a fit is scored after each epoch: the validation metrics, and whether it collapsed.

A collapse is a failure without a NaN: a training that had learned falls back to what a
constant prediction scores. The loop treats it as a divergence, so a search stops spending
epochs on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from afsearch.exceptions import AfsearchError
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
    chunks = (
        (x[start : start + _EVAL_CHUNK], y[start : start + _EVAL_CHUNK])
        for start in range(0, x.shape[0], _EVAL_CHUNK)
    )
    return score(task, model, chunks, y, prefix, x.device, use_amp, amp_dtype, generator)


def score(
    task: BaseTask,
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    targets: torch.Tensor | Sequence[torch.Tensor],
    prefix: str,
    device: torch.device,
    use_amp: bool,
    amp_dtype: torch.dtype,
    generator: torch.Generator,
) -> dict[str, float]:
    """:func:`evaluate` over ``batches`` of stored inputs and targets on ``device``.

    ``targets`` are the split's targets for ``task.loss_metrics``: a tensor, or the list the
    batches' targets are gathered into while they are read (read once they all are).
    """
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    seen = 0
    with torch.no_grad():
        for x, y in batches:
            xb = task.prepare_batch(x, train=False, generator=generator)
            with autocast(device, use_amp, amp_dtype):
                out = model(xb)
            loss_sum += task.loss_fn(out, y) * y.shape[0]
            if task.problem == "classification":
                correct += (out.argmax(dim=-1) == y).sum()
            seen += y.shape[0]
    if seen == 0:
        raise AfsearchError(
            f"The {prefix!r} data of task {task.name!r} is empty; give it at least one example."
        )
    metrics = {f"{prefix}_loss": loss_sum.item() / seen}
    if task.problem == "classification":
        metrics[f"{prefix}_accuracy"] = correct.item() / seen
    y_all = targets if isinstance(targets, torch.Tensor) else torch.cat(list(targets))
    metrics.update(task.loss_metrics(prefix, metrics[f"{prefix}_loss"], y_all))
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
        """The check of a :class:`~afsearch.tasks.TaskData`'s validation targets."""
        if task.problem == "classification":
            return cls.of_targets(task, data.y_val)
        return cls.of_targets(task, data.y_val, data.y_train.float().mean(dim=0))

    @classmethod
    def of_targets(
        cls, task: BaseTask, y_val: torch.Tensor, mean: torch.Tensor | None = None
    ) -> CollapseCheck:
        """The check of validation targets ``y_val``; a regression's floor predicts ``mean``,
        the training targets' mean, or without it the validation targets' own."""
        if task.problem == "classification":
            counts = torch.bincount(y_val.reshape(-1).long().cpu())
            majority = float(counts.max()) / max(1, int(counts.sum()))
            return cls("val_accuracy", majority, True)
        if mean is None:
            mean = y_val.float().mean(dim=0)
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
