"""ORM models of the trial database, all in one place.

Optuna may keep its study in the same database and owns the tables ``studies``, ``trials``, ...
and ``alembic_version``, so every afsearch table is prefixed ``afs_`` and every constraint and
index gets a deterministic ``afs_`` name through the naming convention. Enum columns are stored
as short strings with a CHECK constraint rather than PostgreSQL enum types, so the schema is the
same on SQLite and PostgreSQL and never collides with Optuna's ``trialstate`` type.

Schema changes go through ``migrations/versions``; ``tests/store`` checks that the migrations
and these models agree.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from afsearch.store._status import StudyStatus, TrialStatus

__all__ = ["BEST_STATUSES", "StudyStatus", "TrialStatus"]

TABLE_PREFIX = "afs_"
VERSION_TABLE = "afs_alembic_version"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Trials whose value can be a study's best: they ran to their last epoch, or replayed a stored
#: result that did. One rule for `studies`, the leaderboard's best and `export --best`.
BEST_STATUSES = (TrialStatus.COMPLETED, TrialStatus.DUPLICATE)


def _enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    # Store the lower-case values ("running"), not the member names, so raw SQL and dashboards
    # read naturally.
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# JSONB on PostgreSQL so dashboards can index into configs and metrics.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class StudyModel(Base):
    __tablename__ = "afs_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    space: Mapped[Any] = mapped_column(JSONType, nullable=True)
    space_path: Mapped[str | None] = mapped_column(Text)
    task: Mapped[str] = mapped_column(String(255))
    task_settings: Mapped[Any] = mapped_column(JSONType, nullable=True)
    metric: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(3))
    sampler: Mapped[str] = mapped_column(String(255))
    scheduler: Mapped[str] = mapped_column(String(255))
    status: Mapped[StudyStatus] = mapped_column(_enum_column(StudyStatus, "afs_study_status"))
    seed: Mapped[int | None] = mapped_column(Integer)
    optuna_study_name: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    num_samples: Mapped[int] = mapped_column(Integer)
    # Proposals of functions the study already had, skipped without a trial (migration 0003).
    duplicates_avoided: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stop_reason: Mapped[str | None] = mapped_column(Text)
    # The prescreen's pool and what it filtered, with reasons (migration 0004).
    prescreen: Mapped[Any] = mapped_column(JSONType, nullable=True)
    # When `afsearch stop` asked the running study to end; cleared when it runs again (0006).
    stop_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ActivationModel(Base):
    __tablename__ = "afs_activations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    expression: Mapped[str] = mapped_column(Text)
    srepr: Mapped[str] = mapped_column(Text)
    latex: Mapped[str] = mapped_column(Text)
    family: Mapped[str] = mapped_column(String(255))
    params: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TrialModel(Base):
    __tablename__ = "afs_trials"
    __table_args__ = (
        UniqueConstraint("study_id", "number"),
        UniqueConstraint("study_id", "tune_trial_id"),
        # Top-k of a study: filter on study (and status), order by the metric.
        Index("ix_afs_trials_study_status_metric", "study_id", "status", "metric_value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("afs_studies.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    tune_trial_id: Mapped[str | None] = mapped_column(String(255))
    activation_id: Mapped[str | None] = mapped_column(
        ForeignKey("afs_activations.id", ondelete="SET NULL")
    )
    config: Mapped[Any] = mapped_column(JSONType, nullable=True)
    status: Mapped[TrialStatus] = mapped_column(_enum_column(TrialStatus, "afs_trial_status"))
    metric_value: Mapped[float | None] = mapped_column(Float)
    best_epoch: Mapped[int | None] = mapped_column(Integer)
    learned_params: Mapped[Any] = mapped_column(JSONType, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    node: Mapped[str | None] = mapped_column(String(255))
    # The torch device it trained on: "cpu" or "cuda:0 (<GPU name>, Ray GPU <id>)" (0007).
    device: Mapped[str | None] = mapped_column(String(255))
    # Every objective's value of a multi-objective study's trial, in its order (0008).
    objective_values: Mapped[Any] = mapped_column(JSONType, nullable=True)
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("afs_trials.id", ondelete="SET NULL")
    )
    dedup_key: Mapped[str | None] = mapped_column(String(255), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float | None] = mapped_column(Float)
    # Where the trial's latest training state lies (a path or URI) and the epoch it ends.
    checkpoint: Mapped[str | None] = mapped_column(String(2048))
    checkpoint_epoch: Mapped[int | None] = mapped_column(Integer)


class TrialEpochModel(Base):
    __tablename__ = "afs_trial_epochs"
    __table_args__ = (UniqueConstraint("trial_id", "epoch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("afs_trials.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[Any] = mapped_column(JSONType, nullable=True)
    metric_value: Mapped[float | None] = mapped_column(Float)


class ConfirmRunModel(Base):
    """One training of a study's confirmation: a candidate or a baseline on one fresh seed
    (migration 0005). ``arm`` is the candidate's activation id, or the baseline's name."""

    __tablename__ = "afs_confirm_runs"
    __table_args__ = (UniqueConstraint("study_id", "kind", "arm", "seed"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("afs_studies.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    arm: Mapped[str] = mapped_column(String(255))
    trial_id: Mapped[int | None] = mapped_column(ForeignKey("afs_trials.id", ondelete="SET NULL"))
    seed: Mapped[int] = mapped_column(Integer)
    metric_value: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[Any] = mapped_column(JSONType, nullable=True)
    diverged: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConfirmVerdictModel(Base):
    """A study's confirmed result for one candidate or baseline: its mean over the fresh seeds
    and, for a candidate, its comparison with the best baseline (migration 0005)."""

    __tablename__ = "afs_confirm_verdicts"
    __table_args__ = (UniqueConstraint("study_id", "kind", "arm"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("afs_studies.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    arm: Mapped[str] = mapped_column(String(255))
    trial_id: Mapped[int | None] = mapped_column(ForeignKey("afs_trials.id", ondelete="SET NULL"))
    n: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float | None] = mapped_column(Float)
    std: Mapped[float | None] = mapped_column(Float)
    # A candidate's comparison with the best baseline (empty on baseline rows).
    baseline: Mapped[str | None] = mapped_column(String(255))
    delta: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    t: Mapped[float | None] = mapped_column(Float)
    p_value: Mapped[float | None] = mapped_column(Float)
    p_holm: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))
    #: 1 for the confirmed best among the candidates (the study's best), by mean.
    rank: Mapped[int | None] = mapped_column(Integer)
    options: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
