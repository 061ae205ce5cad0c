"""The task interface: :class:`BaseTask`, and the data it trains on: :class:`TaskData`
(tensors, kept whole on the device) or :class:`TaskDatasets` (datasets or DataLoaders, streamed
in batches).

A task says what data to train on (:meth:`BaseTask.build_data`) and which network to build around
a candidate activation (:meth:`BaseTask.build_model`); :meth:`BaseTask.fit` does the rest with
the shared loop of :mod:`afsearch.tasks._training` and yields one
:class:`~afsearch.tasks._training.EpochResult` per epoch, so a Ray Tune trial can report and be
stopped early. How a task trains is its :class:`~afsearch.tasks._settings.TaskSettings`.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import Candidate
from afsearch.tasks._settings import (
    COMMON_OPTIONS,
    TaskSettings,
    check_common_options,
    check_int,
    check_option_type,
)
from afsearch.tasks._smoothness import not_smooth_reason

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Dataset

    from afsearch.tasks._training import EpochResult

# torch is imported where a task trains, not where it is defined: listing tasks and checking
# their options (afsearch tasks, validate) loads no torch.


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


@dataclass
class TaskDatasets:
    """Train, validation and test data streamed to the device in batches: each split a
    :class:`~torch.utils.data.Dataset` of ``(input, target)`` pairs or a ready
    :class:`~torch.utils.data.DataLoader` of ``(inputs, targets)`` batches.

    A Dataset is loaded in batches of the settings' ``batch_size`` with the options
    ``num_workers`` and ``pin_memory``, the training one shuffled by the fit's seed. A DataLoader
    is used as it is (its batch size, workers, sampler and collate function); the generators
    that shuffle it are reseeded by the fit's seed. Batches reach :meth:`BaseTask.prepare_batch`
    on the device. For data too large for the device, or read from files::

        from torch.utils.data import DataLoader
        from torchvision.datasets import ImageFolder
        from torchvision.transforms import ToTensor

        def build_data(self, seed):
            train = ImageFolder("data/train", ToTensor())
            val = ImageFolder("data/val", ToTensor())
            test = DataLoader(ImageFolder("data/test", ToTensor()), batch_size=256)
            return TaskDatasets(train, val, test)
    """

    train: Dataset[Any] | DataLoader[Any]
    val: Dataset[Any] | DataLoader[Any]
    test: Dataset[Any] | DataLoader[Any]


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
    #: How many derivatives of the activation the task's loss takes (a PINN's residual of a
    #: second-order PDE takes 2); a candidate without that many continuous ones is refused.
    derivatives: ClassVar[int] = 0
    #: Options that take more than their default's type (a name or a mapping), which
    #: :meth:`check_options` checks itself.
    open_options: ClassVar[frozenset[str]] = frozenset()

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
            if key not in self.open_options:
                check_option_type(self.name, key, value, known[key])
        self.settings = dataclasses.replace(settings, options=options)
        self.options = options
        check_common_options(self.name, self.options)
        self.check_options()
        self._data: dict[tuple[int, str], Any] = {}
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
    def build_data(self, seed: int) -> TaskData | TaskDatasets:
        """Build the train, validation and test data for this seed: tensors on the CPU
        (:class:`TaskData`), or datasets or DataLoaders (:class:`TaskDatasets`)."""

    @abc.abstractmethod
    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        """Build the network, calling ``make_activation()`` once per activation site.

        A network that knows the number of channels of a site's input (dim 1) may say so with
        :func:`~afsearch.tasks._sites.site_activation` ``(make_activation, channels)``, as the
        built-in ones do: a per-channel candidate then holds one value per channel there.
        """

    def prepare_batch(
        self, x: torch.Tensor, *, train: bool, generator: torch.Generator
    ) -> torch.Tensor:
        """Turn stored inputs into network inputs (augmentation lives here); identity by default."""
        return x

    def loss_fn(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy for classification, mean squared error for regression."""
        import torch.nn.functional as F

        if self.problem == "classification":
            return F.cross_entropy(output.float(), target)
        return F.mse_loss(output.float(), target)

    def training_loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss one training step minimises; :meth:`loss_fn` of ``model(x)`` by default.

        A task whose loss needs more than the outputs (a PINN's residual takes derivatives of
        the model at ``x``) overrides this; validation still scores with :meth:`loss_fn`.
        """
        return self.loss_fn(model(x), y)

    def steps_per_epoch(self, n_train: int) -> int:
        """Optimizer steps in one epoch: one pass over the ``n_train`` examples by default
        (over a :class:`TaskDatasets`' training loader: its number of batches).

        Full-batch tasks take several steps an epoch, each over a fresh shuffle, so that a
        trial reports a few epochs rather than one per step.
        """
        return math.ceil(n_train / self.settings.batch_size)

    def loss_metrics(self, prefix: str, loss: float, target: torch.Tensor) -> dict[str, float]:
        """Metrics derived from the mean loss on a split and its targets (none by default).

        A task whose metric is a function of the mean squared error (PSNR, relative L2 error)
        names it here as ``{prefix}_<name>``.
        """
        return {}

    def check_candidate(self, candidate: Candidate) -> None:
        """Refuse, with its reason, a candidate without the :attr:`derivatives` the task takes."""
        reason = not_smooth_reason(candidate.expr, self.derivatives)
        if reason is not None:
            raise AfsearchError(
                f"Task {self.name!r} takes {self.derivatives} derivatives of the activation, "
                f"and {candidate.text} is not smooth enough: {reason}; choose an activation "
                "without kinks or jumps, such as tanh, sin, silu or gelu."
            )

    def data(self, seed: int, device: str | torch.device = "cpu") -> TaskData | TaskDatasets:
        """The task's data for this seed, built once and cached: tensors moved to this device,
        datasets as they are (their batches move as they are loaded)."""
        from afsearch.tasks._training import resolve_device

        check_int("seed", seed, 0)
        device = resolve_device(device)
        key = (seed, str(device))
        if key not in self._data:
            cpu_key = (seed, "cpu")
            if cpu_key not in self._data:
                self._data[cpu_key] = self._checked(self.build_data(seed))
            cpu = self._data[cpu_key]
            if key != cpu_key:
                self._data[key] = cpu.to(device) if isinstance(cpu, TaskData) else cpu
        return self._data[key]

    def _checked(self, data: object) -> TaskData | TaskDatasets:
        """What :meth:`build_data` returned, once it is known to be data the loop can use."""
        from torch.utils.data import DataLoader, Dataset

        if isinstance(data, TaskData):
            return data
        if isinstance(data, TaskDatasets):
            for split in ("train", "val", "test"):
                part = getattr(data, split)
                if not isinstance(part, (Dataset, DataLoader)):
                    raise AfsearchError(
                        f"The {split!r} split of task {self.name!r}'s TaskDatasets must be a "
                        f"torch Dataset or DataLoader, got {part!r}."
                    )
            return data
        raise AfsearchError(
            f"build_data of task {self.name!r} must return a TaskData of tensors or a "
            f"TaskDatasets of datasets or DataLoaders, got {data!r}."
        )

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
        from afsearch.tasks._training import resolve_device, train

        check_int("seed", seed, 0)
        if resume is not None and self.resumed_epoch(resume) is None:
            done = resume.get("epoch") if isinstance(resume, Mapping) else None
            raise AfsearchError(
                f"resume must be a training state saved after epoch 1 to "
                f"{self.settings.epochs - 1} of this task, got epoch {done!r}."
            )
        return train(self, make_activation, seed, resolve_device(device), resume)

    def resumed_epoch(self, resume: object, keys: frozenset[str] = frozenset()) -> int | None:
        """The epoch a saved state was taken after, when it can resume a fit of these settings
        (an epoch from 1 to the last but one, and every one of ``keys``); else ``None``."""
        if not isinstance(resume, Mapping) or not keys <= set(resume):
            return None
        done = resume.get("epoch")
        if isinstance(done, bool) or not isinstance(done, int):
            return None
        return done if 1 <= done < self.settings.epochs else None

    def evaluate_test(
        self,
        model: nn.Module,
        data: TaskData | TaskDatasets,
        device: str | torch.device = "cpu",
    ) -> dict[str, float]:
        """Test-set metrics (``test_loss``, and ``test_accuracy`` for classification)."""
        import torch

        from afsearch.tasks._batches import batch_source
        from afsearch.tasks._training import amp_mode, resolve_device

        device = resolve_device(device)
        use_amp, amp_dtype = amp_mode(self.options, device)
        generator = torch.Generator(device=device)
        source = batch_source(self, data, device)
        return source.evaluate(model, "test", use_amp, amp_dtype, generator)
