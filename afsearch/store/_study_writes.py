"""Study and activation writes of :class:`~afsearch.store.TrialStore`.

Every write runs in one transaction through :meth:`StoreConnection._run
<afsearch.store._connection.StoreConnection._run>`, so each is safe to run twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from afsearch.exceptions import AfsearchError
from afsearch.store._connection import StoreConnection
from afsearch.store._models import ActivationModel, StudyModel, StudyStatus
from afsearch.store._records import StudyRecord, jsonable, study_record
from afsearch.store._rows import (
    check_mode,
    check_study_name,
    coerce_enum,
    study_exists,
    study_row,
    utc_now,
)


class StudyWrites(StoreConnection):
    """Create studies, read one back, set their status; record activations."""

    def create_study(
        self,
        name: str,
        *,
        space: Any,
        space_path: str | os.PathLike[str] | None = None,
        task: str,
        task_settings: Mapping[str, Any] | None = None,
        metric: str,
        mode: str,
        sampler: str,
        scheduler: str,
        seed: int | None = None,
        num_samples: int,
        optuna_study_name: str | None = None,
    ) -> StudyRecord:
        """Record a new study; an :class:`AfsearchError` if ``name`` is taken."""
        name = check_study_name(name)
        mode = check_mode(mode)
        if isinstance(num_samples, bool) or not isinstance(num_samples, int):
            raise AfsearchError(f"num_samples must be an integer, got {num_samples!r}.")

        def work(session: Session) -> StudyRecord:
            if session.scalar(select(StudyModel.id).where(StudyModel.name == name)) is not None:
                raise study_exists(name, self.url_masked)
            row = StudyModel(
                name=name,
                space=jsonable(space),
                space_path=os.fspath(space_path) if space_path is not None else None,
                task=str(task),
                task_settings=jsonable(task_settings),
                metric=str(metric),
                mode=mode,
                sampler=str(sampler),
                scheduler=str(scheduler),
                status=StudyStatus.RUNNING,
                seed=seed,
                optuna_study_name=optuna_study_name,
                created_at=utc_now(),
                num_samples=num_samples,
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:  # created by someone else since the check
                raise study_exists(name, self.url_masked) from exc
            return study_record(row)

        return self._run(work)

    def get_study(self, name: str) -> StudyRecord:
        """The study called ``name``; an :class:`AfsearchError` naming existing ones if unknown."""
        return self._run(lambda s: study_record(study_row(s, name, self.url_masked)))

    def set_study_status(
        self, name: str, status: StudyStatus | str, finished: bool = False
    ) -> None:
        """Set a study's status; ``finished=True`` also stamps ``finished_at``."""
        new_status = coerce_enum(StudyStatus, status, "status")

        def work(session: Session) -> None:
            row = study_row(session, name, self.url_masked)
            row.status = new_status
            row.finished_at = utc_now() if finished else None
            if new_status == StudyStatus.RUNNING:
                row.stop_requested_at = None  # a stop asked of an earlier run is done

        self._run(work)

    def record_search_progress(
        self, name: str, *, duplicates_avoided: int, stop_reason: str | None = None
    ) -> None:
        """Store how many known proposals the study has skipped (a total, so a retried write
        changes nothing) and, once its space ran out of new functions, why it stopped."""
        if isinstance(duplicates_avoided, bool) or duplicates_avoided < 0:
            raise AfsearchError(
                f"duplicates_avoided must be an integer of at least 0, got {duplicates_avoided!r}."
            )

        def work(session: Session) -> None:
            row = study_row(session, name, self.url_masked)
            row.duplicates_avoided = int(duplicates_avoided)
            if stop_reason is not None:
                row.stop_reason = stop_reason

        self._run(work)

    def record_prescreen(self, name: str, summary: Mapping[str, Any]) -> None:
        """Store what the study's prescreen did (its pool, the candidates it filtered)."""

        def work(session: Session) -> None:
            study_row(session, name, self.url_masked).prescreen = jsonable(dict(summary))

        self._run(work)

    def extend_study(self, name: str, num_samples: int) -> None:
        """Let a study draw up to ``num_samples`` (never fewer than it has): a resumed study
        asked for more, as Optuna's ``optimize`` called again; an earlier stop is forgotten."""
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise AfsearchError(
                f"num_samples must be an integer of at least 1, got {num_samples!r}."
            )

        def work(session: Session) -> None:
            row = study_row(session, name, self.url_masked)
            if num_samples > row.num_samples:
                row.num_samples = num_samples
                row.stop_reason = None

        self._run(work)

    def upsert_activation(
        self,
        id: str,
        *,
        expression: str,
        srepr: str,
        latex: str,
        family: str,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an activation by fingerprint id; the first record of an id is kept."""
        if not isinstance(id, str) or not id.strip():
            raise AfsearchError(f"Activation id must be a non-empty string, got {id!r}.")
        values = {
            "id": id,
            "expression": str(expression),
            "srepr": str(srepr),
            "latex": str(latex),
            "family": str(family),
            "params": jsonable(params),
            "created_at": utc_now(),
        }

        def work(session: Session) -> None:
            dialect = session.get_bind().dialect.name
            if dialect in ("sqlite", "postgresql"):
                insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
                stmt = insert(ActivationModel).on_conflict_do_nothing(index_elements=["id"])
                session.execute(stmt, [values])
            elif session.get(ActivationModel, id) is None:
                session.add(ActivationModel(**values))

        self._run(work)
