"""How a task trains: :class:`TaskSettings`, the options every task knows, and their checks.

Every value is checked when it is made, so a bad setting or option fails before a search
starts, in one sentence that names it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from afsearch.exceptions import AfsearchError, choices, number_hint

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")
PROBLEMS = ("classification", "regression")
MODES = ("max", "min")

# Options every task understands; a task's own defaults may change their values.
COMMON_OPTIONS: dict[str, Any] = {
    "amp": False,  # mixed precision, only ever used on CUDA
    "grad_clip": None,  # max gradient norm, None for no clipping
    "schedule": "constant",  # learning-rate schedule over all steps
    # The activations' own parameters (a trainable beta, SLAF coefficients, PAU weights) train
    # in an optimizer group of their own: the task's lr times this factor, and no weight decay
    # unless asked, since decaying them pulls every activation towards zero.
    "activation_lr_factor": 1.0,
    "activation_weight_decay": 0.0,
    # How a task whose build_data returns datasets is loaded (tasks._streaming): worker
    # processes of the DataLoaders afsearch makes, and page-locked batches for a faster copy
    # to a GPU. Tensor tasks keep their data on the device and ignore both.
    "num_workers": 0,
    "pin_memory": False,
}

_BAD_INT = "{name} must be an integer of at least {low}, got {value!r}."


def check_int(name: str, value: object, low: int) -> None:
    """An :class:`AfsearchError` unless ``value`` is an integer (not a bool) of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise AfsearchError(_BAD_INT.format(name=name, low=low, value=value))


def is_number(value: object) -> bool:
    """Whether ``value`` is an int or a float, bools excluded."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class TaskSettings:
    """How a task trains: the optimiser, its hyperparameters and task-specific ``options``.

    ``sgd`` is SGD with Nesterov momentum 0.9. Every field is checked here, so a bad value fails
    when the settings are made, not halfway through a search::

        TaskSettings(epochs=5, lr=3e-3, options={"width": 32})
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        if not is_number(self.lr) or not math.isfinite(self.lr) or self.lr <= 0:
            raise AfsearchError(
                f"lr must be a finite number above 0, got {self.lr!r}{number_hint(self.lr)}."
            )
        wd = self.weight_decay
        if not is_number(wd) or not math.isfinite(wd) or wd < 0:
            raise AfsearchError(
                f"weight_decay must be a finite number of at least 0, got {wd!r}{number_hint(wd)}."
            )
        if self.optimizer not in OPTIMIZERS:
            raise AfsearchError(
                f"optimizer must be one of {choices(OPTIMIZERS)}, got {self.optimizer!r}."
            )
        if not isinstance(self.options, dict) or not all(isinstance(k, str) for k in self.options):
            raise AfsearchError(f"options must be a dict with string keys, got {self.options!r}.")


def check_option_type(task: str, key: str, value: object, default: object) -> None:
    """An :class:`AfsearchError` unless option ``key`` has the type of its default."""
    # The default's type is the option's type; None defaults are checked by the task itself.
    if default is None:
        return
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, kind = is_number(value), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    else:
        return
    if not ok:
        raise AfsearchError(f"Option {key!r} of task {task!r} must be {kind}, got {value!r}.")


def check_common_options(task: str, options: Mapping[str, Any]) -> None:
    """Check the values of the :data:`COMMON_OPTIONS` among task ``task``'s ``options``."""
    if options["schedule"] not in SCHEDULES:
        raise AfsearchError(
            f"Option 'schedule' of task {task!r} must be one of {choices(SCHEDULES)}, "
            f"got {options['schedule']!r}."
        )
    factor, decay = options["activation_lr_factor"], options["activation_weight_decay"]
    if not is_number(factor) or not math.isfinite(factor) or factor <= 0:
        raise AfsearchError(
            f"Option 'activation_lr_factor' of task {task!r} must be a finite number above 0, "
            f"got {factor!r}."
        )
    if not is_number(decay) or not math.isfinite(decay) or decay < 0:
        raise AfsearchError(
            f"Option 'activation_weight_decay' of task {task!r} must be a finite number of at "
            f"least 0, got {decay!r}."
        )
    workers = options["num_workers"]
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise AfsearchError(
            f"Option 'num_workers' of task {task!r} must be an integer of at least 0 (0 loads "
            f"batches in the training process), got {workers!r}."
        )
    if not isinstance(options["pin_memory"], bool):
        raise AfsearchError(
            f"Option 'pin_memory' of task {task!r} must be true or false, "
            f"got {options['pin_memory']!r}."
        )
    clip = options["grad_clip"]
    if clip is not None and (not is_number(clip) or not clip > 0):
        raise AfsearchError(
            f"Option 'grad_clip' of task {task!r} must be a number above 0 or None, got {clip!r}."
        )
