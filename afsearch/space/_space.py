"""A validated search space and the keys its YAML form takes (docs/SPACE.md describes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afsearch.domains import FamilySpace, Value
from afsearch.space._confirm_options import ConfirmOptions
from afsearch.space._prescreen_options import PrescreenOptions
from afsearch.space._resources import Resources

MODES = ("max", "min")
SCHEDULERS = ("asha", "none")
#: ``compile``: when trials run their activation under torch.compile (tasks.ActivationFactory).
COMPILE_MODES = ("auto", "always", "never")
TOP_KEYS = {
    "name",
    "description",
    "task",
    "metric",
    "mode",
    "sampler",
    "scheduler",
    "seeds",
    "num_samples",
    "max_concurrent",
    "families",
    "sampler_options",
    "objectives",
    "grace_period",
    "max_failures",
    "trial_timeout_s",
    "checkpoint_every",
    "checkpoint_min_seconds",
    "prescreen",
    "confirm",
    "enqueue",
    "compile",
    "per_site",
    "resources",
    "log",
}
TASK_KEYS = {"name", "epochs", "batch_size", "lr", "weight_decay", "optimizer", "options"}


@dataclass
class SearchSpace:
    """A validated search space; docs/SPACE.md is the reference of its YAML form."""

    name: str
    task: str
    task_values: dict[str, Value]
    task_options: dict[str, Any]
    metric: str | None
    mode: str | None
    sampler: str
    scheduler: str
    seeds: int
    num_samples: int
    max_concurrent: int
    families: list[FamilySpace]
    raw: dict[str, Any]
    source: str = "<space>"
    sampler_options: dict[str, Any] = field(default_factory=dict)
    objectives: list[tuple[str, str]] = field(default_factory=list)
    grace_period: int = 1
    max_failures: int = 0
    trial_timeout_s: float | None = None
    #: Save each trial's training state every this many epochs (0: never), but no sooner than
    #: ``checkpoint_min_seconds`` after the trial's start or its last save, so that a retried or
    #: resumed trial continues from its last checkpoint instead of epoch 1.
    checkpoint_every: int = 1
    checkpoint_min_seconds: float = 30.0
    #: Score candidates before training them (see afsearch.search._prescreen).
    prescreen: PrescreenOptions | None = None
    #: Train the best candidates again on fresh seeds after the search (the confirm stage).
    confirm: ConfirmOptions | None = None
    #: Activation configs tried first, in order (a warm start, as Optuna's enqueue_trial).
    enqueue: tuple[dict[str, Any], ...] = ()
    #: When trials run the activation under torch.compile: auto (when it pays), always, never.
    compile: str = "auto"
    #: Each activation site of the task's network gets its own candidate (space._per_site).
    per_site: bool = False
    #: The number of activation sites of the task's network (counted when ``per_site``).
    sites: int = 0
    #: CPUs and GPUs each trial asks of Ray (``resources:``; the launch flags override them).
    resources: Resources = field(default_factory=Resources)
    #: Run logs written as trials train (``log:``): names of afsearch.trial's run loggers.
    log: tuple[str, ...] = ()

    @property
    def folder(self) -> str | None:
        """The folder of the space file (where a user's task module may sit), if it has one."""
        path = Path(self.source)
        return str(path.parent.resolve()) if path.is_file() else None

    @property
    def goals(self) -> list[tuple[str, str]]:
        """What the study optimises: ``(metric, mode)`` of each objective, else of the metric."""
        return list(self.objectives) or [(str(self.metric), str(self.mode))]

    @property
    def objective_metric(self) -> str:
        """The metric the study ranks trials by (the first objective's)."""
        return self.goals[0][0]

    @property
    def objective_mode(self) -> str:
        return self.goals[0][1]
