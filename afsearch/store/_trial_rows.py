"""The row-level steps of :class:`~afsearch.store._trial_writes.TrialWrites`.

Each takes the open session of the write that calls it and does no commit of its own, so the
steps of one write land in its one transaction or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from afsearch.exceptions import AfsearchError
from afsearch.store._models import TrialEpochModel, TrialModel, TrialStatus
from afsearch.store._records import jsonable
from afsearch.store._rows import trial_row, utc_now


def rerun_row(
    session: Session,
    study: str,
    study_id: int,
    replaces: int,
    tune_trial_id: str | None,
    config: Mapping[str, Any] | None,
    keep_epochs: int,
) -> TrialModel:
    """The row of interrupted trial ``replaces``, reset for its new run: the epochs after
    ``keep_epochs`` and what the old run concluded are gone."""
    row = session.get(TrialModel, replaces)
    if row is None or row.study_id != study_id:
        raise AfsearchError(f"Trial id {replaces} is not a trial of study '{study}' to run again.")
    session.execute(
        delete(TrialEpochModel).where(
            TrialEpochModel.trial_id == row.id, TrialEpochModel.epoch > keep_epochs
        )
    )
    if not keep_epochs:
        row.checkpoint = row.checkpoint_epoch = None
    row.tune_trial_id = tune_trial_id
    row.started_at = utc_now()
    row.metric_value = None
    row.best_epoch = None
    row.learned_params = None
    row.config = jsonable(config)
    return row


def trial_of_tune_id(session: Session, study_id: int, tune_trial_id: str) -> TrialModel | None:
    return session.scalar(
        select(TrialModel).where(
            TrialModel.study_id == study_id,
            TrialModel.tune_trial_id == tune_trial_id,
        )
    )


def mark_running(
    row: TrialModel, *, activation_id: str | None, dedup_key: str | None, node: str | None
) -> None:
    """Mark an existing trial running again; what the caller leaves ``None`` is kept."""
    row.status = TrialStatus.RUNNING
    row.finished_at = None
    row.duration_s = None
    row.error = None
    if activation_id is not None:
        row.activation_id = activation_id
    if dedup_key is not None:
        row.dedup_key = dedup_key
    if node is not None:
        row.node = node


def trial_number(
    session: Session,
    study: str,
    study_id: int,
    number: int | None,
    preferred_number: int | None,
) -> int:
    """A new trial's number: ``number``, which must be free, else ``preferred_number`` if it
    is free, else the study's next."""
    if number is None and preferred_number is not None:
        taken = _number_taken(session, study_id, preferred_number)
        number = None if taken else int(preferred_number)
    if number is None:
        last = session.scalar(
            select(func.max(TrialModel.number)).where(TrialModel.study_id == study_id)
        )
        return 0 if last is None else last + 1
    if _number_taken(session, study_id, number):
        raise AfsearchError(
            f"Study '{study}' already has a trial number {number}; pass another "
            "number or leave it out to take the next free one."
        )
    return number


def _number_taken(session: Session, study_id: int, number: int) -> bool:
    taken = session.scalar(
        select(TrialModel.id).where(TrialModel.study_id == study_id, TrialModel.number == number)
    )
    return taken is not None


def set_checkpoint(session: Session, trial_id: int, location: str, epoch: int, url: str) -> None:
    row = trial_row(session, trial_id, url)
    if row.checkpoint_epoch is None or epoch >= row.checkpoint_epoch:
        row.checkpoint, row.checkpoint_epoch = location, epoch


def upsert_epochs(session: Session, values: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        stmt = insert(TrialEpochModel.__table__)  # type: ignore[arg-type]
        stmt = stmt.on_conflict_do_update(
            index_elements=["trial_id", "epoch"],
            set_={"metrics": stmt.excluded.metrics, "metric_value": stmt.excluded.metric_value},
        )
        session.execute(stmt, values)
        return
    # Other backends: one look-up per epoch, slower but portable.
    for item in values:
        row = session.scalar(
            select(TrialEpochModel).where(
                TrialEpochModel.trial_id == item["trial_id"],
                TrialEpochModel.epoch == item["epoch"],
            )
        )
        if row is None:
            session.add(TrialEpochModel(**item))
        else:
            row.metrics = item["metrics"]
            row.metric_value = item["metric_value"]
