"""What a fit steps with: the optimizer, its learning-rate schedule and mixed precision.

:func:`make_optimizer` gives the activations' own parameters a group of their own, so a task
can train them at another learning rate and weight decay than the network's weights.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from afsearch.tasks._settings import TaskSettings


def amp_mode(options: Mapping[str, Any], device: torch.device) -> tuple[bool, torch.dtype]:
    """Whether to autocast, and to which dtype: bfloat16 where the GPU has it."""
    if device.type != "cuda" or not options["amp"]:
        return False, torch.float32
    return True, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(
    device: torch.device, enabled: bool, dtype: torch.dtype
) -> contextlib.AbstractContextManager[Any]:
    # A disabled torch.autocast still checks its dtype, and float32 is not an autocast dtype.
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def make_optimizer(
    model: nn.Module,
    settings: TaskSettings,
    *,
    activation_params: list[nn.Parameter] | None = None,
    lr_factor: float = 1.0,
    activation_weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """The optimizer of ``settings``; ``activation_params`` (the activations' own parameters)
    form a second group with ``lr * lr_factor`` and ``activation_weight_decay``."""
    own = {id(p) for p in activation_params or []}
    rest = [p for p in model.parameters() if id(p) not in own]
    groups: list[dict[str, Any]] = [
        {"params": rest, "lr": settings.lr, "weight_decay": settings.weight_decay}
    ]
    if own:
        groups.append(
            {
                "params": list({id(p): p for p in activation_params or []}.values()),
                "lr": settings.lr * lr_factor,
                "weight_decay": activation_weight_decay,
            }
        )
    if settings.optimizer == "adam":
        return torch.optim.Adam(groups, lr=settings.lr)
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=settings.lr)
    return torch.optim.SGD(groups, lr=settings.lr, momentum=0.9, nesterov=True)


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    if schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
