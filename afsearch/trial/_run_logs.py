"""Run logs that researchers already read: each trial's epochs, how it ended, its activation and
its config, in MLflow or TensorBoard (the space's ``log:``, ``afsearch launch --log``).

A run logger is told on the driver as each trial starts, reports an epoch and ends; it writes
under the study's runs directory (``<runs>/<study>``). Loggers are looked up by name, as Ray
Tune looks up its searchers, and imported when first used: each writes with a package that
``pip install 'afsearch[logging]'`` installs, and a missing one is said in one sentence before
anything runs.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from afsearch.exceptions import AfsearchError, choices
from afsearch.trial import report

if TYPE_CHECKING:
    from afsearch.trial._spec import TrialSpec

#: The pip extra that installs the package of every logger.
EXTRA = "afsearch[logging]"
#: Entries of a trial's report that run logs leave out: bookkeeping, not training (the epoch is
#: the step every value is logged at; Ray Tune's counters and clocks are its own).
NOT_LOGGED = frozenset(
    {
        report.EPOCH,
        report.FINAL,
        report.DIVERGED,
        report.TIMED_OUT,
        report.REUSED_FROM,
        report.RESUMED_AT,
        report.STOPPED,
        "training_iteration",
        "time_this_iter_s",
        "time_total_s",
    }
)

Param = str | int | float | bool


@dataclass(frozen=True)
class LoggedTrial:
    """A trial as its run log names it: the study's trial number, the activation as its family
    names it (``swish(beta=1.24)``), its expression, and its config as flat parameters
    (``activation.beta``, ``task.lr``, ``seed``)."""

    study: str
    number: int
    activation: str
    expression: str
    params: Mapping[str, Param]


@dataclass(frozen=True)
class TrialEnd:
    """How a trial ended: its status (an ``afsearch.store.TrialStatus`` value), its last epoch
    and that epoch's metrics, the learned values of its trainable parameters (their means over
    the sites), where it ran, and why it failed."""

    status: str
    epoch: int
    metrics: Mapping[str, float]
    learned: Mapping[str, float]
    device: str | None = None
    node: str | None = None
    error: str | None = None


class BaseRunLogger(abc.ABC):
    """Writes a study's trials to one run log, from the driver.

    ``folder`` is the study's runs directory; nothing is opened before the first trial starts,
    and a logger pickles without its open files or clients (Ray Tune pickles its callbacks).
    """

    #: The name in ``log:`` and ``--log``.
    name: ClassVar[str]
    #: The module it writes with, and the pip package that provides it.
    module: ClassVar[str]
    package: ClassVar[str]

    def __init__(self, folder: str, study: str) -> None:
        self.folder, self.study = folder, study

    def check(self) -> None:
        """Refuse, in one sentence, a logger that could not write: its package is not
        installed, or its location is not usable."""
        try:
            found = importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
            found = False
        if not found:
            raise AfsearchError(
                f"log: {self.name} needs the Python package {self.package!r}, which is not "
                f"installed; install it with pip install '{EXTRA}'."
            )
        self.check_location()

    @abc.abstractmethod
    def check_location(self) -> None:
        """Raise :class:`AfsearchError` when the logger cannot write where it would."""

    @abc.abstractmethod
    def location(self) -> str:
        """Where the logs go, as a reader opens them (a tracking URI, a folder)."""

    @abc.abstractmethod
    def start(self, trial: LoggedTrial) -> None:
        """A trial starts (or starts again after a resume: its log goes on)."""

    @abc.abstractmethod
    def epoch(self, number: int, epoch: int, metrics: Mapping[str, float]) -> None:
        """Trial ``number`` reported ``metrics`` at the end of ``epoch``."""

    @abc.abstractmethod
    def finish(self, number: int, end: TrialEnd) -> None:
        """Trial ``number`` ended."""

    @abc.abstractmethod
    def close(self) -> None:
        """The launch is over: write what is pending and release files and clients."""


#: Logger name -> ``module:Class``, imported when first used.
_LOGGERS: dict[str, str] = {
    "mlflow": "afsearch.trial._mlflow:MlflowLogger",
    "tensorboard": "afsearch.trial._tensorboard:TensorBoardLogger",
}


def run_logger_names() -> tuple[str, ...]:
    """The names ``log:`` takes."""
    return tuple(sorted(_LOGGERS))


def register_run_logger(name: str, path: str) -> None:
    """Make the logger class at ``path`` (``module:Class``) available as ``name``."""
    if name in _LOGGERS:
        raise AfsearchError(f"A run logger named {name!r} is already registered.")
    _LOGGERS[name] = path


def get_run_logger(name: str) -> type[BaseRunLogger]:
    """The logger class registered as ``name``."""
    if name not in _LOGGERS:
        raise AfsearchError(
            f"There is no run logger {name!r}; the loggers are {choices(_LOGGERS)}."
        )
    module, _, cls = _LOGGERS[name].partition(":")
    logger: type[BaseRunLogger] = getattr(importlib.import_module(module), cls)
    return logger


# ---------------------------------------------------------------------------------------------
# What a run log records of a trial, from what the trial carries and reports.

_KEY = re.compile(r"[^A-Za-z0-9_.\-/ ]")


def logged_trial(study: str, number: int, spec: TrialSpec) -> LoggedTrial:
    """The trial ``spec`` as a run log names it: the sampled activation config and the task's
    settings as flat parameters, with the expression."""
    from afsearch.activations import label

    params: dict[str, Param] = {
        "expression": spec.expression,
        "activation_id": spec.activation_id,
        "task": spec.task,
        "seeds": spec.seeds,
        "seed": spec.seed,
    }
    params.update(_flat("activation", spec.activation))
    params.update(_flat("task", dataclasses.asdict(spec.settings)))
    return LoggedTrial(
        study, number, label(spec.activation, spec.expression), spec.expression, params
    )


def logged_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """The finite metrics of one report, without the bookkeeping (:data:`NOT_LOGGED`)."""
    from afsearch.trial.report import epoch_metrics

    return {
        k: v
        for k, v in epoch_metrics(dict(result)).items()
        if k not in NOT_LOGGED and v is not None
    }


def learned_means(text: Any) -> dict[str, float]:
    """The mean learned values in a report's ``learned_params`` JSON text (none if unreadable)."""
    try:
        means = json.loads(text).get("mean", {}) if text else {}
    except (TypeError, ValueError, AttributeError):
        return {}
    return {str(k): float(v) for k, v in means.items() if isinstance(v, (int, float))}


def _flat(prefix: str, value: Any) -> dict[str, Param]:
    """``value`` as flat parameters named ``prefix.key.key``; lists become JSON text."""
    if isinstance(value, Mapping):
        out: dict[str, Param] = {}
        for k, v in value.items():
            out.update(_flat(f"{prefix}.{_KEY.sub('_', str(k))}", v))
        return out
    if isinstance(value, (str, bool, int, float)):
        return {prefix: value}
    if value is None:
        return {}
    return {prefix: json.dumps(value, default=str)}
