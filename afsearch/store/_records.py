"""Plain, frozen records of what the store holds; callers never see ORM objects."""

from __future__ import annotations

import dataclasses
import enum
import math
import numbers
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from afsearch.store._models import (
    ActivationModel,
    StudyModel,
    StudyStatus,
    TrialEpochModel,
    TrialModel,
    TrialStatus,
)


class _Record:
    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values: ISO timestamps, status strings, nested dicts."""
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        return {f.name: _plain(getattr(self, f.name)) for f in fields}


@dataclasses.dataclass(frozen=True)
class StudyRecord(_Record):
    """One study: its search space, task, objective and progress."""

    id: int
    name: str
    space: Any
    space_path: str | None
    task: str
    task_settings: Any
    metric: str
    mode: str
    sampler: str
    scheduler: str
    status: StudyStatus
    seed: int | None
    optuna_study_name: str | None
    num_samples: int
    created_at: datetime
    finished_at: datetime | None
    #: Proposals of functions the study already had (or was training), skipped: no trial.
    duplicates_avoided: int = 0
    #: Why the study stopped before drawing its samples (its space ran out of new functions).
    stop_reason: str | None = None
    #: The prescreen's pool and what it filtered out, with the reasons, if it ran.
    prescreen: Any = None


@dataclasses.dataclass(frozen=True)
class StudySummary(_Record):
    """One line of ``afsearch studies``: a study and how far it got."""

    name: str
    task: str
    metric: str
    mode: str
    status: StudyStatus
    n_trials: int
    n_completed: int
    best_value: float | None
    created_at: datetime
    #: Distinct functions trained (trials that trained, by activation and settings).
    n_distinct: int = 0
    n_pruned: int = 0
    duplicates_avoided: int = 0
    stop_reason: str | None = None
    #: The confirmed best (``store.study_best``) when the study has a confirmation: its trial
    #: number, its mean over the fresh seeds and its verdict against the best baseline.
    confirmed_trial: int | None = None
    confirmed_mean: float | None = None
    confirmed_verdict: str | None = None
    #: The split the confirmation judged on (``val`` for one stored before test judged).
    confirmed_split: str | None = None


@dataclasses.dataclass(frozen=True)
class ActivationRecord(_Record):
    """A candidate activation, identified by its fingerprint ``id``."""

    id: str
    expression: str
    srepr: str
    latex: str
    family: str
    params: Any
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class TrialRecord(_Record):
    """One trial; ``activation`` is filled in once the activation is known.

    ``config`` is what the trial is, as the driver stored it: the JSON form of
    ``afsearch.trial.TrialSpec.stored()``, which ``TrialSpec.from_dict`` reads back.
    ``learned_params`` is ``{"mean": {name: value}, "per_site": {name: [values]}}``.
    """

    id: int
    study: str
    number: int
    tune_trial_id: str | None
    activation_id: str | None
    config: Any
    status: TrialStatus
    metric_value: float | None
    best_epoch: int | None
    learned_params: Any
    error: str | None
    node: str | None
    #: The torch device it trained on: ``"cpu"`` or ``"cuda:0 (<GPU name>, Ray GPU <id>)"``.
    device: str | None
    duplicate_of: int | None
    dedup_key: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    checkpoint: str | None = None
    checkpoint_epoch: int | None = None
    activation: ActivationRecord | None = None
    #: A multi-objective study's trial: each objective's value, in the order of the study's
    #: ``objectives`` (Optuna's ``values``); ``None`` for one objective, or where it failed.
    values: list[float | None] | None = None


@dataclasses.dataclass(frozen=True)
class EpochRecord(_Record):
    """The metrics a trial reported at the end of one epoch."""

    trial_id: int
    epoch: int
    metrics: Any
    metric_value: float | None


def utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite hands back naive ones, stored as UTC)."""
    return None if value is None else _utc(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def study_record(row: StudyModel) -> StudyRecord:
    return StudyRecord(
        id=row.id,
        name=row.name,
        space=row.space,
        space_path=row.space_path,
        task=row.task,
        task_settings=row.task_settings,
        metric=row.metric,
        mode=row.mode,
        sampler=row.sampler,
        scheduler=row.scheduler,
        status=row.status,
        seed=row.seed,
        optuna_study_name=row.optuna_study_name,
        num_samples=row.num_samples,
        created_at=_utc(row.created_at),
        finished_at=utc(row.finished_at),
        duplicates_avoided=row.duplicates_avoided or 0,
        stop_reason=row.stop_reason,
        prescreen=row.prescreen,
    )


def activation_record(row: ActivationModel) -> ActivationRecord:
    return ActivationRecord(
        id=row.id,
        expression=row.expression,
        srepr=row.srepr,
        latex=row.latex,
        family=row.family,
        params=row.params,
        created_at=_utc(row.created_at),
    )


def trial_record(
    row: TrialModel, study_name: str, activation: ActivationModel | None = None
) -> TrialRecord:
    return TrialRecord(
        id=row.id,
        study=study_name,
        number=row.number,
        tune_trial_id=row.tune_trial_id,
        activation_id=row.activation_id,
        config=row.config,
        status=row.status,
        metric_value=row.metric_value,
        best_epoch=row.best_epoch,
        learned_params=row.learned_params,
        error=row.error,
        node=row.node,
        device=row.device,
        duplicate_of=row.duplicate_of,
        dedup_key=row.dedup_key,
        started_at=_utc(row.started_at),
        finished_at=utc(row.finished_at),
        duration_s=row.duration_s,
        checkpoint=row.checkpoint,
        checkpoint_epoch=row.checkpoint_epoch,
        activation=activation_record(activation) if activation is not None else None,
        values=row.objective_values,
    )


def epoch_record(row: TrialEpochModel) -> EpochRecord:
    return EpochRecord(
        trial_id=row.trial_id,
        epoch=row.epoch,
        metrics=row.metrics,
        metric_value=row.metric_value,
    )


def jsonable(value: Any) -> Any:
    """``value`` made storable as JSON on every backend.

    NumPy scalars and arrays become Python numbers and lists, NaN and infinities become
    ``None`` (PostgreSQL's JSONB refuses them, and JSON has no spelling for them), keys become
    strings, and anything else unknown becomes its ``str``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return finite_or_none(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy arrays and torch tensors
        return jsonable(value.tolist())
    return str(value)


def finite_or_none(value: Any) -> float | None:
    """``float(value)``, or ``None`` for ``None``, NaN and infinities.

    A NaN metric would sort above every number on PostgreSQL and becomes NULL on SQLite, so the
    store keeps non-finite values as NULL everywhere.
    """
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, _Record):
        return value.to_dict()
    return value
