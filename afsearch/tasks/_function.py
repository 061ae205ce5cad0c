"""Training functions: a user's own loop, ``train(trial)``, searched like any task.

A training function builds its model with ``trial.make_activation`` at every activation site,
trains it however it likes (its DataLoaders, optimizer, augmentation, Lightning or plain torch)
and calls ``trial.report(**metrics)`` once per epoch::

    def train(trial):
        model = nn.Sequential(nn.Linear(40, 64), trial.make_activation(), nn.Linear(64, 10))
        optimizer = trial.make_optimizer(model)
        for epoch in range(trial.start_epoch, trial.settings.epochs + 1):
            ...  # one epoch of training
            trial.report(val_accuracy=accuracy, val_loss=loss)

:class:`FunctionTask` wraps it as a :class:`~afsearch.tasks.BaseTask` whose :meth:`fit` yields
an :class:`~afsearch.tasks.EpochResult` per report, so a search, the confirm stage and
``afsearch rerun`` drive it as they drive any task. The function runs in a thread of its own
that waits inside ``report`` until the next epoch is asked for: when a scheduler stops the
trial, ``report`` raises :class:`TrialStopped` and the function ends through its own
``finally`` blocks. The last epoch's ``report`` returns at once, so code after the loop runs.

A thread rather than a generator (``yield`` in the user's loop) keeps the user's function a
plain function, as Ray Tune's and Optuna's are; only one of the two threads runs at a time.
"""

from __future__ import annotations

import functools
import inspect
import math
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from afsearch.exceptions import AfsearchError
from afsearch.tasks._base import BaseTask, TaskData
from afsearch.tasks._settings import COMMON_OPTIONS, TaskSettings, check_common_options, check_int
from afsearch.tasks._sites import site_activation

if TYPE_CHECKING:
    import torch
    from torch import nn

    from afsearch.tasks._training import EpochResult

#: What a training function's saved state holds beside its epoch.
_SAVED_KEYS = frozenset({"user", "torch_rng", "cuda_rng"})
#: How long a stopped training function may take to leave ``report`` and end its thread.
STOP_TIMEOUT_S = 60.0


class TrialStopped(BaseException):
    """Raised by ``trial.report`` when the search stops the trial; let it propagate.

    A :class:`BaseException`, as :class:`GeneratorExit` is, so ``except Exception`` in a
    training function does not swallow it.
    """


class _SitesCounted(BaseException):
    """Ends a dry run of a training function at the first forward through an activation."""


def is_training_function(obj: object) -> bool:
    """Whether ``obj`` is a training function: a callable (not a class) of one parameter named
    ``trial`` or annotated with :class:`Trial`."""
    if isinstance(obj, type) or not callable(obj):
        return False
    try:
        params = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return False
    if len(params) != 1:
        return False
    annotation = params[0].annotation
    named = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return params[0].name == "trial" or named.rpartition(".")[2] == "Trial"


class Trial:
    """What a training function gets: the activation to search, its seed, device and settings.

    - ``make_activation(channels=None, **ignored)``: a fresh activation module for one site;
      call it once per site, in the same order every time. It ignores timm's ``inplace=``, so
      ``timm.create_model(name, act_layer=trial.make_activation)`` works; ``channels=`` (the
      input's size along dim 1) lets a per-channel candidate hold one value per channel.
    - ``seed``, ``device`` (a torch device), ``settings`` (a :class:`TaskSettings`: epochs,
      lr, batch_size, weight_decay, optimizer) and ``options`` (the space's ``task.options``).
    - ``report(**metrics)``: once per epoch, numbers (or one-element tensors) by name; the
      space's ``metric`` must be among them.
    - Checkpoints: when ``should_checkpoint()`` is true, ``save(state)`` keeps what the
      function needs to continue (tensors, numbers, strings, lists and dicts, such as state
      dicts); a resumed trial gets it back from ``restore()`` and starts at ``start_epoch``.
    """

    def __init__(
        self,
        task: FunctionTask,
        make_activation: Callable[..., nn.Module],
        seed: int,
        device: torch.device,
        resume: Mapping[str, Any] | None,
        channel: _Channel,
    ) -> None:
        self.seed, self.device = seed, device
        self.settings: TaskSettings = task.settings
        self.options: dict[str, Any] = task.options
        self._task, self._make, self._channel = task, make_activation, channel
        self._resume = resume
        #: The first epoch this call trains: 1, or the one after a restored checkpoint.
        self.start_epoch = 1 if resume is None else int(resume["epoch"]) + 1
        #: Epochs reported so far, counting those before a restored checkpoint.
        self.epoch = self.start_epoch - 1
        self._sites: list[nn.Module] = []
        self._saved: tuple[int, Any] | None = None
        self._started = time.perf_counter()

    def make_activation(self, channels: int | None = None, **_: Any) -> nn.Module:
        """The activation module of the next site (keyword arguments such as ``inplace`` are
        ignored)."""
        module = site_activation(self._make, channels)
        self._sites.append(module)
        return module

    def activation_parameters(self) -> list[nn.Parameter]:
        """The trainable parameters of every activation made so far (SLAF coefficients, a
        learnable beta), for an optimizer group of their own."""
        return [p for site in self._sites for p in site.parameters() if p.requires_grad]

    def make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        """The optimizer the settings name, with the activations' parameters in a group of
        their own (``activation_lr_factor``, ``activation_weight_decay``), as built-in tasks
        train."""
        from afsearch.tasks._optim import make_optimizer

        return make_optimizer(
            model,
            self.settings,
            activation_params=self.activation_parameters(),
            lr_factor=float(self.options["activation_lr_factor"]),
            activation_weight_decay=float(self.options["activation_weight_decay"]),
        )

    def should_checkpoint(self) -> bool:
        """Whether the search may checkpoint after the epoch about to be reported."""
        epoch, every = self.epoch + 1, self._task.checkpoint_every
        return bool(every) and epoch % every == 0 and epoch < self.settings.epochs

    def save(self, state: Any) -> None:
        """Keep ``state`` as the checkpoint of the epoch about to be reported, with torch's
        random state (CPU and CUDA) as it is now."""
        import torch

        cuda = torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []
        self._saved = (self.epoch + 1, {"user": state, "torch_rng": torch.get_rng_state(),
                                        "cuda_rng": cuda})  # fmt: skip

    def restore(self) -> Any:
        """The state saved before the checkpoint this trial resumes from, or ``None``.

        Also puts back torch's random state as it was at ``save``, so a resumed training
        shuffles and drops out as the uninterrupted one would: call it after building the
        model and before the first epoch.
        """
        import torch

        if self._resume is None:
            return None
        torch.set_rng_state(self._resume["torch_rng"])
        if self.device.type == "cuda" and self._resume["cuda_rng"]:
            torch.cuda.set_rng_state_all(self._resume["cuda_rng"])
        return self._resume["user"]

    def report(self, **metrics: Any) -> None:
        """Report one epoch's metrics; returns when the next epoch should start.

        Raises :class:`TrialStopped` when the search stops the trial instead.
        """
        if self.epoch >= self.settings.epochs:  # epochs past the settings' are not trained
            raise TrialStopped
        self.epoch += 1
        values = {name: _number(name, value) for name, value in metrics.items()}
        values["epoch_seconds"] = time.perf_counter() - self._started
        bad = next((n for n, v in values.items() if not math.isfinite(v)), None)
        saved = self._saved if self._saved and self._saved[0] == self.epoch else None
        self._channel.to_loop.put(("epoch", _epoch_result(self.epoch, values, bad, saved)))
        if bad is not None:  # a diverged training ends here
            raise TrialStopped
        if self.epoch == self.settings.epochs:  # the last epoch: the function runs on to its end
            return
        if self._channel.to_user.get() == "stop":
            raise TrialStopped
        self._started = time.perf_counter()


def _number(name: str, value: Any) -> float:
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError, RuntimeError):
        raise AfsearchError(
            f"trial.report got {name}={value!r}; report numbers (or one-element tensors)."
        ) from None


def _epoch_result(
    epoch: int, metrics: dict[str, float], bad: str | None, saved: tuple[int, Any] | None
) -> EpochResult:
    from afsearch.tasks._training import EpochResult

    state: Callable[[], dict[str, Any]] | None
    state = None if saved is None else functools.partial(dict, epoch=epoch, **saved[1])
    reason = None if bad is None else f"the training function reported {bad}={metrics[bad]}"
    return EpochResult(epoch=epoch, metrics=metrics, diverged=bad is not None, reason=reason,
                       state=state)  # fmt: skip


class _Channel:
    """The two queues between a fit (the loop) and its training function's thread."""

    def __init__(self) -> None:
        self.to_loop: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.to_user: queue.Queue[str] = queue.Queue()


class FunctionTask(BaseTask):
    """A :class:`BaseTask` that runs a user's training function (see the module docstring).

    Made by :func:`function_task`; its ``name`` is the function's import path, its options are
    whatever the space gives (the function reads them), and the space names its metric.
    """

    description: ClassVar[str] = "a training function"
    metric: ClassVar[str] = ""  # the space names it
    mode: ClassVar[str] = ""
    function: ClassVar[Callable[[Trial], Any]]
    #: Epochs between checkpoints; a search sets it to its ``checkpoint_every``.
    checkpoint_every: int = 0

    def __init__(self, settings: TaskSettings | None = None) -> None:
        settings = self.default_settings if settings is None else settings
        if not isinstance(settings, TaskSettings):
            raise AfsearchError(
                f"settings of task {self.name!r} must be a TaskSettings, got {settings!r}."
            )
        self.options = {**COMMON_OPTIONS, **settings.options}
        check_common_options(self.name, self.options)
        self.settings = settings
        self._data: dict[tuple[int, str], TaskData] = {}
        self.last_model = None

    def build_data(self, seed: int) -> TaskData:
        raise self._no_parts("data")

    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        raise self._no_parts("network")

    def _no_parts(self, what: str) -> AfsearchError:
        return AfsearchError(
            f"Task {self.name!r} is a training function, which builds its {what} inside the "
            "function; what needs the task's network apart from its training (the prescreen's "
            "init signal, a dry run of build_model) needs a BaseTask."
        )

    def fit(
        self,
        make_activation: Callable[[], nn.Module],
        *,
        seed: int,
        device: str | torch.device = "cpu",
        resume: Mapping[str, Any] | None = None,
    ) -> Iterator[EpochResult]:
        from afsearch.tasks._training import resolve_device

        check_int("seed", seed, 0)
        if resume is not None and self.resumed_epoch(resume, _SAVED_KEYS) is None:
            raise AfsearchError(
                f"resume must be a state that task {self.name!r} saved after epoch 1 to "
                f"{self.settings.epochs - 1}, got {resume!r:.80}."
            )
        return self._run(make_activation, seed, resolve_device(device), resume)

    def _run(
        self,
        make_activation: Callable[[], nn.Module],
        seed: int,
        device: torch.device,
        resume: Mapping[str, Any] | None,
    ) -> Iterator[EpochResult]:
        channel = _Channel()
        trial = Trial(self, make_activation, seed, device, resume, channel)
        thread = threading.Thread(
            target=self._call, args=(trial, channel), name=f"afsearch {self.name}", daemon=True
        )
        thread.start()
        try:
            while True:
                kind, payload = channel.to_loop.get()
                if kind == "error":
                    raise payload
                if kind == "done":
                    if trial.epoch < trial.start_epoch:
                        raise AfsearchError(
                            f"Training function {self.name!r} returned without calling "
                            "trial.report(...); report the metrics once per epoch."
                        )
                    return
                yield payload
                if payload.diverged or payload.epoch >= self.settings.epochs:
                    break
                channel.to_user.put("go")
            _finish(channel, thread)
        finally:
            if thread.is_alive():
                channel.to_user.put("stop")
                thread.join(STOP_TIMEOUT_S)

    def _call(self, trial: Trial, channel: _Channel) -> None:
        from afsearch.tasks._training import seed_everything

        try:
            seed_everything(trial.seed)
            function: Callable[[Trial], Any] = type(self).function
            function(trial)
        except TrialStopped:
            pass
        except BaseException as exc:  # anything the user's code raises goes to the loop
            channel.to_loop.put(("error", exc))
            return
        channel.to_loop.put(("done", None))

    def evaluate_test(self, model: Any, data: Any, device: Any = "cpu") -> dict[str, float]:
        raise self._no_parts("test evaluation")

    def site_channels(self) -> list[int | None]:
        """The channel count of each activation site, in the order the function makes them:
        the function runs on the CPU until its first forward through an activation."""
        import torch
        from torch import nn

        from afsearch.tasks._training import seed_everything

        sites: list[int | None] = []

        class Probe(nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                raise _SitesCounted

        def make(channels: int | None = None) -> nn.Module:
            sites.append(channels)
            return Probe()

        trial = _CountingTrial(self, make, 0, torch.device("cpu"), None, _Channel())
        try:
            seed_everything(0)
            type(self).function(trial)
        except _SitesCounted:
            pass
        except Exception as exc:  # the user's code: any failure is reported as a sentence
            raise AfsearchError(
                f"Training function {self.name!r} failed before its first forward, where its "
                f"activation sites are counted ({type(exc).__name__}: {exc})."
            ) from None
        return sites


class _CountingTrial(Trial):
    """A trial that ends the function at its first report: its sites are all made by then."""

    def report(self, **metrics: Any) -> None:
        raise _SitesCounted


def _finish(channel: _Channel, thread: threading.Thread) -> None:
    """Let the function run past its last report to its end; raise what it raised there."""
    thread.join()
    while not channel.to_loop.empty():
        kind, payload = channel.to_loop.get()
        if kind == "error":
            raise payload


def function_task(function: Callable[[Trial], Any], path: str) -> type[FunctionTask]:
    """A :class:`FunctionTask` class for ``function``, named by its import path ``path``."""
    doc = inspect.getdoc(function) or ""
    first = doc.strip().splitlines()[0] if doc.strip() else f"the training function {path}"
    attrs = {"name": path, "description": first, "function": staticmethod(function)}
    module = getattr(function, "__module__", None) or sys.modules[__name__].__name__
    return type(f"FunctionTask[{path}]", (FunctionTask,), {**attrs, "__module__": module})
