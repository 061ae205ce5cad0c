"""The task interface and the one training loop every task shares.

A task says what data to train on (:meth:`BaseTask.build_data`) and which network to build around
a candidate activation (:meth:`BaseTask.build_model`); :meth:`BaseTask.fit` does the rest and
yields one :class:`EpochResult` per epoch, so a Ray Tune trial can report and be stopped early.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import functools
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from afsearch.exceptions import AfsearchError, choices

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")
PROBLEMS = ("classification", "regression")
MODES = ("max", "min")

# Options every task understands; a task's own defaults may change their values.
COMMON_OPTIONS: dict[str, Any] = {
    "amp": False,  # mixed precision, only ever used on CUDA
    "grad_clip": None,  # max gradient norm, None for no clipping
    "schedule": "constant",  # learning-rate schedule over all steps
}

# Evaluation runs in chunks so a large validation set never needs one huge activation tensor.
_EVAL_CHUNK = 1024
# On CUDA a finiteness check forces a sync, so the running loss is checked every few batches;
# a NaN or inf never leaves the running sum, so a late check still catches it.
_CUDA_CHECK_EVERY = 8

_BAD_INT = "{name} must be an integer of at least {low}, got {value!r}."


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise AfsearchError(_BAD_INT.format(name=name, low=low, value=value))


def _is_number(value: object) -> bool:
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
        _check_int("epochs", self.epochs, 1)
        _check_int("batch_size", self.batch_size, 1)
        if not _is_number(self.lr) or not math.isfinite(self.lr) or self.lr <= 0:
            raise AfsearchError(f"lr must be a finite number above 0, got {self.lr!r}.")
        wd = self.weight_decay
        if not _is_number(wd) or not math.isfinite(wd) or wd < 0:
            raise AfsearchError(f"weight_decay must be a finite number of at least 0, got {wd!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise AfsearchError(
                f"optimizer must be one of {choices(OPTIMIZERS)}, got {self.optimizer!r}."
            )
        if not isinstance(self.options, dict) or not all(isinstance(k, str) for k in self.options):
            raise AfsearchError(f"options must be a dict with string keys, got {self.options!r}.")


@dataclass
class EpochResult:
    """What one epoch of :meth:`BaseTask.fit` produced.

    ``metrics`` always holds the task's metric, ``val_loss``, ``train_loss`` and
    ``epoch_seconds``; the last epoch also holds ``test_*`` metrics, for reporting only. When
    ``diverged`` is true the losses are NaN and the loop stops after this result.
    """

    epoch: int
    metrics: dict[str, float]
    diverged: bool = False
    #: The training state after this epoch (model, optimizer, schedule, loss scaler, random
    #: generators), built on call; pass it to ``fit(resume=...)`` to continue from here.
    state: Callable[[], dict[str, Any]] | None = field(default=None, repr=False, compare=False)


@dataclass
class TaskData:
    """Train, validation and test tensors; validation scores a trial, test is for reporting."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def to(self, device: torch.device) -> TaskData:
        return TaskData(*(t.to(device) for t in dataclasses.astuple(self)))


def resolve_device(device: str | torch.device) -> torch.device:
    """A torch device that exists here; a bare ``"cuda"`` becomes the current CUDA device."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise AfsearchError(
            f"device must be a torch device such as 'cpu', 'cuda' or 'cuda:1', got {device!r}."
        ) from error
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise AfsearchError(
                f"device {device!r} needs CUDA, but this torch build or machine has none; "
                "use device 'cpu'."
            )
        if resolved.index is None:
            resolved = torch.device("cuda", torch.cuda.current_device())
    return resolved


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CUDA included) for one reproducible run."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


class BaseTask(abc.ABC):
    """A training problem that scores a candidate activation.

    Subclasses set the class variables and implement :meth:`build_data` and
    :meth:`build_model`; they leave :meth:`fit` alone. ``default_settings.options`` lists every
    option the task accepts (on top of :data:`COMMON_OPTIONS`), with its default. After a fit,
    ``last_model`` holds its trained model, for :meth:`evaluate_test` or a checkpoint.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    metric: ClassVar[str]
    mode: ClassVar[str]
    problem: ClassVar[str] = "classification"
    default_settings: ClassVar[TaskSettings] = TaskSettings()
    # Options that make one epoch take well under a second, for smoke tests and dry runs.
    smoke_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, settings: TaskSettings | None = None) -> None:
        base = self.default_settings
        settings = base if settings is None else settings
        if not isinstance(settings, TaskSettings):
            raise AfsearchError(
                f"settings of task {self.name!r} must be a TaskSettings, got {settings!r}."
            )
        known = self.known_options()
        unknown = sorted(set(settings.options) - set(known))
        if unknown:
            raise AfsearchError(
                f"Task {self.name!r} has no option {unknown[0]!r}; "
                f"valid options are {choices(known)}."
            )
        options = {**known, **settings.options}
        for key, value in options.items():
            _check_option_type(self.name, key, value, known[key])
        self.settings = dataclasses.replace(settings, options=options)
        self.options = options
        self._check_common_options()
        self.check_options()
        self._data: dict[tuple[int, str], TaskData] = {}
        self.last_model: nn.Module | None = None

    @classmethod
    def known_options(cls) -> dict[str, Any]:
        """Every option this task accepts, with its default."""
        return {**COMMON_OPTIONS, **cls.default_settings.options}

    @classmethod
    def make_settings(cls, **overrides: Any) -> TaskSettings:
        """This task's defaults with some fields changed; ``options`` merge into the defaults.

        ``DigitsMLP.make_settings(epochs=3, options={"width": 16})`` keeps the task's batch
        size and learning rate, which ``TaskSettings(epochs=3)`` would reset.
        """
        fields = {f.name for f in dataclasses.fields(TaskSettings)}
        for key in overrides:
            if key not in fields:
                raise AfsearchError(
                    f"TaskSettings has no field {key!r}; valid fields are {choices(fields)}."
                )
        extra = overrides.pop("options", {})
        if not isinstance(extra, dict):
            raise AfsearchError(f"options must be a dict, got {extra!r}.")
        options = {**cls.default_settings.options, **extra}
        return dataclasses.replace(cls.default_settings, options=options, **overrides)

    def _check_common_options(self) -> None:
        if self.options["schedule"] not in SCHEDULES:
            raise AfsearchError(
                f"Option 'schedule' of task {self.name!r} must be one of {choices(SCHEDULES)}, "
                f"got {self.options['schedule']!r}."
            )
        clip = self.options["grad_clip"]
        if clip is not None and (not _is_number(clip) or not clip > 0):
            raise AfsearchError(
                f"Option 'grad_clip' of task {self.name!r} must be a number above 0 or None, "
                f"got {clip!r}."
            )

    def _amp(self, device: torch.device) -> tuple[bool, torch.dtype]:
        """Whether to autocast, and to which dtype: bfloat16 where the GPU has it."""
        if device.type != "cuda" or not self.options["amp"]:
            return False, torch.float32
        return True, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

    def check_options(self) -> None:  # noqa: B027 - an optional hook, empty on purpose
        """Check task-specific option values in ``self.options``; raise AfsearchError."""

    def option_error(self, key: str, expected: str) -> AfsearchError:
        """The error for a bad option value: ``expected`` completes "must be ..."."""
        return AfsearchError(
            f"Option {key!r} of task {self.name!r} must be {expected}, got {self.options[key]!r}."
        )

    def check_at_least(self, low: int, *keys: str) -> None:
        """Check that each integer option in ``keys`` is at least ``low``."""
        for key in keys:
            if self.options[key] < low:
                raise self.option_error(key, f"an integer of at least {low}")

    @abc.abstractmethod
    def build_data(self, seed: int) -> TaskData:
        """Build the train, validation and test tensors (on the CPU) for this seed."""

    @abc.abstractmethod
    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        """Build the network, calling ``make_activation()`` once per activation site."""

    def prepare_batch(
        self, x: torch.Tensor, *, train: bool, generator: torch.Generator
    ) -> torch.Tensor:
        """Turn stored inputs into network inputs (augmentation lives here); identity by default."""
        return x

    def loss_fn(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy for classification, mean squared error for regression."""
        if self.problem == "classification":
            return F.cross_entropy(output.float(), target)
        return F.mse_loss(output.float(), target)

    def data(self, seed: int, device: str | torch.device = "cpu") -> TaskData:
        """The task's data for this seed on this device, built once and cached."""
        _check_int("seed", seed, 0)
        device = resolve_device(device)
        key = (seed, str(device))
        if key not in self._data:
            cpu_key = (seed, "cpu")
            if cpu_key not in self._data:
                self._data[cpu_key] = self.build_data(seed)
            if key != cpu_key:
                self._data[key] = self._data[cpu_key].to(device)
        return self._data[key]

    def fit(
        self,
        make_activation: Callable[[], nn.Module],
        *,
        seed: int,
        device: str | torch.device = "cpu",
        resume: Mapping[str, Any] | None = None,
    ) -> Iterator[EpochResult]:
        """Train a fresh model with this activation and yield an :class:`EpochResult` per epoch.

        A non-finite training loss, or a non-finite validation loss, yields a result with
        ``diverged=True`` and ends the loop. The same seed on the CPU gives the same metrics.
        ``seed`` and ``device`` are checked at once; training starts at the first ``next()``::

            for result in get_task("digits-mlp").fit(torch.nn.ReLU, seed=0):
                print(result.epoch, result.metrics["val_accuracy"])

        ``resume`` is what ``result.state()`` returned after some epoch of a fit with the same
        task, settings, activation and seed: training continues with the next epoch, and on the
        CPU yields what the uninterrupted fit would have.
        """
        _check_int("seed", seed, 0)
        if resume is not None:
            done = resume.get("epoch") if isinstance(resume, Mapping) else None
            if not isinstance(done, int) or not 1 <= done < self.settings.epochs:
                raise AfsearchError(
                    f"resume must be a training state saved after epoch 1 to "
                    f"{self.settings.epochs - 1} of this task, got epoch {done!r}."
                )
        return self._fit(make_activation, seed, resolve_device(device), resume)

    def _fit(
        self,
        make_activation: Callable[[], nn.Module],
        seed: int,
        device: torch.device,
        resume: Mapping[str, Any] | None = None,
    ) -> Iterator[EpochResult]:
        settings = self.settings
        seed_everything(seed)
        data = self.data(seed, device)
        model = self.build_model(make_activation).to(device)
        self.last_model = model
        optimizer = _make_optimizer(model, settings)
        n_train = data.x_train.shape[0]
        steps_per_epoch = math.ceil(n_train / settings.batch_size)
        scheduler = _make_scheduler(
            optimizer, self.options["schedule"], settings.epochs * steps_per_epoch
        )
        use_amp, amp_dtype = self._amp(device)
        # bfloat16 has float32's range, so only float16 needs loss scaling.
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
        grad_clip = self.options["grad_clip"]
        check_every = _CUDA_CHECK_EVERY if device.type == "cuda" else 1
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)

        def state(epoch: int) -> dict[str, Any]:
            # Python's and NumPy's generators are not used once the data is built; torch's are.
            return {
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
            }

        first = 1
        if resume is not None:
            try:
                model.load_state_dict(resume["model"])
                optimizer.load_state_dict(resume["optimizer"])
                scheduler.load_state_dict(resume["scheduler"])
                scaler.load_state_dict(resume["scaler"])
                generator.set_state(resume["generator"])
                torch.set_rng_state(resume["torch_rng"])
                if device.type == "cuda" and resume["cuda_rng"]:
                    torch.cuda.set_rng_state_all(resume["cuda_rng"])
            except (KeyError, RuntimeError, ValueError, TypeError) as exc:
                raise AfsearchError(
                    f"The saved training state does not fit this task's model: {exc}"
                ) from exc
            first = int(resume["epoch"]) + 1

        for epoch in range(first, settings.epochs + 1):
            start = time.perf_counter()
            model.train()
            perm = torch.randperm(n_train, generator=generator, device=device)
            loss_sum = torch.zeros((), device=device)
            for step in range(steps_per_epoch):
                idx = perm[step * settings.batch_size : (step + 1) * settings.batch_size]
                x = self.prepare_batch(data.x_train[idx], train=True, generator=generator)
                with _autocast(device, use_amp, amp_dtype):
                    loss = self.loss_fn(model(x), data.y_train[idx])
                loss_sum += loss.detach() * idx.shape[0]
                last = step == steps_per_epoch - 1
                if (step % check_every == 0 or last) and not torch.isfinite(loss_sum):
                    yield self._diverged(epoch, start)
                    return
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if grad_clip is not None:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), float(grad_clip))
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()

            metrics = {"train_loss": loss_sum.item() / n_train}
            metrics.update(
                self._evaluate(model, data.x_val, data.y_val, "val", use_amp, amp_dtype, generator)
            )
            if epoch == settings.epochs and math.isfinite(metrics["val_loss"]):
                metrics.update(self.evaluate_test(model, data, device))
            metrics["epoch_seconds"] = time.perf_counter() - start
            diverged = not math.isfinite(metrics["val_loss"])
            yield EpochResult(
                epoch=epoch,
                metrics=metrics,
                diverged=diverged,
                state=functools.partial(state, epoch),
            )
            if diverged:
                return

    def evaluate_test(
        self, model: nn.Module, data: TaskData, device: str | torch.device = "cpu"
    ) -> dict[str, float]:
        """Test-set metrics (``test_loss``, and ``test_accuracy`` for classification)."""
        device = resolve_device(device)
        use_amp, amp_dtype = self._amp(device)
        generator = torch.Generator(device=device)
        x, y = data.x_test.to(device), data.y_test.to(device)
        return self._evaluate(model, x, y, "test", use_amp, amp_dtype, generator)

    def _evaluate(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        prefix: str,
        use_amp: bool,
        amp_dtype: torch.dtype,
        generator: torch.Generator,
    ) -> dict[str, float]:
        model.eval()
        loss_sum = torch.zeros((), device=x.device)
        correct = torch.zeros((), device=x.device)
        with torch.no_grad():
            for start in range(0, x.shape[0], _EVAL_CHUNK):
                xb = self.prepare_batch(
                    x[start : start + _EVAL_CHUNK], train=False, generator=generator
                )
                yb = y[start : start + _EVAL_CHUNK]
                with _autocast(x.device, use_amp, amp_dtype):
                    out = model(xb)
                loss_sum += self.loss_fn(out, yb) * yb.shape[0]
                if self.problem == "classification":
                    correct += (out.argmax(dim=-1) == yb).sum()
        metrics = {f"{prefix}_loss": loss_sum.item() / x.shape[0]}
        if self.problem == "classification":
            metrics[f"{prefix}_accuracy"] = correct.item() / x.shape[0]
        return metrics

    def _diverged(self, epoch: int, start: float) -> EpochResult:
        metrics = {key: math.nan for key in {"train_loss", "val_loss", self.metric}}
        metrics["epoch_seconds"] = time.perf_counter() - start
        return EpochResult(epoch=epoch, metrics=metrics, diverged=True)


def _check_option_type(task: str, key: str, value: object, default: object) -> None:
    # The default's type is the option's type; None defaults are checked by the task itself.
    if default is None:
        return
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, kind = _is_number(value), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    else:
        return
    if not ok:
        raise AfsearchError(f"Option {key!r} of task {task!r} must be {kind}, got {value!r}.")


def _autocast(
    device: torch.device, enabled: bool, dtype: torch.dtype
) -> contextlib.AbstractContextManager[Any]:
    # A disabled torch.autocast still checks its dtype, and float32 is not an autocast dtype.
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _make_optimizer(model: nn.Module, settings: TaskSettings) -> torch.optim.Optimizer:
    params = model.parameters()
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay)
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    return torch.optim.SGD(
        params, lr=settings.lr, momentum=0.9, nesterov=True, weight_decay=settings.weight_decay
    )


def _make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    if schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
