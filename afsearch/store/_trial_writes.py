"""Trial and epoch writes of :class:`~afsearch.store.TrialStore`.

Every write runs in one transaction through :meth:`StoreConnection._run
<afsearch.store._connection.StoreConnection._run>`, so each is safe to run twice: starting a
trial is idempotent on its Ray Tune id, epochs are upserted, and an older checkpoint never
replaces a newer one. The steps on single rows that these writes share are in
:mod:`~afsearch.store._trial_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from afsearch.exceptions import AfsearchError, choices
from afsearch.store._connection import StoreConnection
from afsearch.store._models import ActivationModel, StudyModel, TrialModel, TrialStatus
from afsearch.store._records import TrialRecord, finite_or_none, jsonable, trial_record, utc
from afsearch.store._rows import (
    coerce_enum,
    no_trial,
    require_activation,
    study_row,
    trial_row,
    utc_now,
)
from afsearch.store._trial_rows import (
    mark_running,
    rerun_row,
    set_checkpoint,
    trial_number,
    trial_of_tune_id,
    upsert_epochs,
)

EpochRow = tuple[int, Mapping[str, Any], "float | None"]


class TrialWrites(StoreConnection):
    """Start and finish trials, record their epochs and checkpoints, find and list them."""

    def start_trial(
        self,
        study: str,
        *,
        tune_trial_id: str | None,
        number: int | None = None,
        preferred_number: int | None = None,
        config: Mapping[str, Any] | None = None,
        activation_id: str | None = None,
        dedup_key: str | None = None,
        node: str | None = None,
        replaces: int | None = None,
        keep_epochs: int = 0,
    ) -> int:
        """Record a running trial and return its id.

        Idempotent on ``(study, tune_trial_id)``: a trial Ray Tune restarts or resumes gets its
        existing id back and is marked running again. ``number`` defaults to the study's next;
        ``preferred_number`` is taken when the study has no trial of that number yet (the
        driver passes Optuna's, so both count trials alike), else the next.
        ``replaces`` names an interrupted trial of the study that this one runs again: its row
        (and number) is reused, its epochs after ``keep_epochs`` are dropped (all of them by
        default; a trial continued from its checkpoint keeps those the checkpoint covers), so
        the trial appears once.
        """

        def work(session: Session) -> int:
            study_id = study_row(session, study, self.url_masked).id
            if activation_id is not None:
                require_activation(session, activation_id)
            row = None
            if replaces is not None:
                row = rerun_row(
                    session, study, study_id, replaces, tune_trial_id, config, keep_epochs
                )
            elif tune_trial_id is not None:
                row = trial_of_tune_id(session, study_id, tune_trial_id)
            if row is not None:
                mark_running(row, activation_id=activation_id, dedup_key=dedup_key, node=node)
                return row.id
            row = TrialModel(
                study_id=study_id,
                number=trial_number(session, study, study_id, number, preferred_number),
                tune_trial_id=tune_trial_id,
                activation_id=activation_id,
                config=jsonable(config),
                status=TrialStatus.RUNNING,
                dedup_key=dedup_key,
                node=node,
                started_at=utc_now(),
            )
            session.add(row)
            session.flush()
            return row.id

        return self._run(work)

    def record_epochs(self, trial_id: int, rows: Iterable[EpochRow]) -> None:
        """Upsert per-epoch metrics ``(epoch, metrics, metric_value)`` of a trial.

        Re-reporting an epoch (a trial resumed from an older checkpoint) replaces its row.
        Send epochs in batches: one call is one transaction.
        """
        self.record_epochs_many((trial_id, *row) for row in rows)

    def record_epochs_many(
        self,
        rows: Iterable[tuple[int, int, Mapping[str, Any], Any]],
        checkpoints: Iterable[tuple[int, str, int]] = (),
    ) -> None:
        """:meth:`record_epochs` for rows ``(trial_id, epoch, metrics, metric_value)`` of any
        trials, in one transaction (the driver flushes the epochs of all running trials).

        ``checkpoints`` (``(trial_id, location, epoch)``, as :meth:`record_checkpoint`) land in
        the same transaction, so a stored checkpoint never covers an epoch that is not stored.
        """
        by_key: dict[tuple[int, int], dict[str, Any]] = {}
        for trial_id, epoch, metrics, metric_value in rows:
            by_key[(int(trial_id), int(epoch))] = {
                "trial_id": int(trial_id),
                "epoch": int(epoch),
                "metrics": jsonable(metrics),
                "metric_value": finite_or_none(metric_value),
            }
        saves = [(int(t), str(loc), int(e)) for t, loc, e in checkpoints]
        if not by_key and not saves:
            return
        values = list(by_key.values())
        ids = {tid for tid, _ in by_key} | {t for t, _, _ in saves}

        def work(session: Session) -> None:
            found = set(session.scalars(select(TrialModel.id).where(TrialModel.id.in_(ids))))
            missing = sorted(ids - found)
            if missing:
                raise no_trial(missing[0], self.url_masked)
            if values:
                upsert_epochs(session, values)
            for trial_id, location, epoch in saves:
                set_checkpoint(session, trial_id, location, epoch, self.url_masked)

        self._run(work)

    def finish_trial(
        self,
        trial_id: int,
        *,
        status: TrialStatus | str,
        metric_value: float | None = None,
        best_epoch: int | None = None,
        learned_params: Mapping[str, Any] | None = None,
        error: str | None = None,
        duplicate_of: int | None = None,
        node: str | None = None,
        values: Sequence[float | None] | None = None,
        device: str | None = None,
    ) -> None:
        """Record how a trial ended; ``status`` is any final status (not ``running``).

        ``node`` and ``device`` (where the trial ran and on what, known from its results) are
        kept if ``None``. ``values`` are a multi-objective study's values of its objectives.
        """
        final = coerce_enum(TrialStatus, status, "status")
        if final is TrialStatus.RUNNING:
            raise AfsearchError(
                "finish_trial needs a final status, got 'running'; use one of "
                f"{choices(s.value for s in TrialStatus if s is not TrialStatus.RUNNING)}."
            )

        def work(session: Session) -> None:
            row = trial_row(session, trial_id, self.url_masked)
            if duplicate_of is not None:
                if duplicate_of == trial_id:
                    raise AfsearchError(f"Trial {trial_id} cannot be a duplicate of itself.")
                trial_row(session, duplicate_of, self.url_masked)
            now = utc_now()
            row.status = final
            row.metric_value = finite_or_none(metric_value)
            row.best_epoch = best_epoch
            row.learned_params = jsonable(learned_params)
            row.error = error
            row.duplicate_of = duplicate_of
            row.objective_values = None if values is None else [finite_or_none(v) for v in values]
            if node is not None:
                row.node = node
            if device is not None:
                row.device = device
            row.finished_at = now
            started = utc(row.started_at)
            row.duration_s = (now - started).total_seconds() if started is not None else None

        self._run(work)

    def record_checkpoint(self, trial_id: int, location: str, epoch: int) -> None:
        """Note where trial ``trial_id`` saved its training state after ``epoch``.

        A later epoch replaces an earlier one; an older checkpoint arriving late is ignored.
        """

        self._run(
            lambda session: set_checkpoint(session, trial_id, location, epoch, self.url_masked)
        )

    def find_reusable(self, dedup_key: str) -> TrialRecord | None:
        """The best completed trial of any study with ``dedup_key``, or ``None``.

        "Best" follows each trial's own study mode; ties go to the earliest trial.
        """

        def work(session: Session) -> TrialRecord | None:
            rows = session.execute(
                select(TrialModel, StudyModel.name, StudyModel.mode, ActivationModel)
                .join(StudyModel, TrialModel.study_id == StudyModel.id)
                .outerjoin(ActivationModel, TrialModel.activation_id == ActivationModel.id)
                .where(
                    TrialModel.dedup_key == dedup_key,
                    TrialModel.status == TrialStatus.COMPLETED,
                )
            ).all()
            if not rows:
                return None

            def rank(row: Any) -> tuple[bool, float, int]:
                value = row[0].metric_value
                if value is None:
                    return (True, 0.0, row[0].id)
                return (False, -value if row[2] == "max" else value, row[0].id)

            best = min(rows, key=rank)
            return trial_record(best[0], best[1], best[3])

        return self._run(work)

    def find_known(self, study: str, dedup_key: str) -> TrialRecord | None:
        """The first trial of ``study`` with ``dedup_key`` that ended (completed, pruned,
        diverged, failed, or replayed another study's result), or ``None``: what a new proposal
        of it would repeat."""
        ended = [
            TrialStatus.COMPLETED,
            TrialStatus.PRUNED,
            TrialStatus.DIVERGED,
            TrialStatus.FAILED,
            TrialStatus.DUPLICATE,
        ]

        def work(session: Session) -> TrialRecord | None:
            row = session.execute(
                select(TrialModel, StudyModel.name, ActivationModel)
                .join(StudyModel, TrialModel.study_id == StudyModel.id)
                .outerjoin(ActivationModel, TrialModel.activation_id == ActivationModel.id)
                .where(
                    StudyModel.name == study,
                    TrialModel.dedup_key == dedup_key,
                    TrialModel.status.in_(ended),
                )
                .order_by(TrialModel.id)
                .limit(1)
            ).first()
            return None if row is None else trial_record(row[0], row[1], row[2])

        return self._run(work)

    def mark_interrupted(self, study: str) -> int:
        """Mark the study's ``running`` trials ``interrupted``; returns how many there were."""

        def work(session: Session) -> int:
            study_id = study_row(session, study, self.url_masked).id
            result = session.execute(
                update(TrialModel)
                .where(
                    TrialModel.study_id == study_id,
                    TrialModel.status == TrialStatus.RUNNING,
                )
                .values(status=TrialStatus.INTERRUPTED)
            )
            return int(cast("CursorResult[Any]", result).rowcount)

        return self._run(work)

    def trial_by_tune_id(self, study: str, tune_trial_id: str) -> TrialRecord | None:
        """The trial Ray Tune calls ``tune_trial_id`` in ``study``, or ``None``."""

        def work(session: Session) -> TrialRecord | None:
            st = study_row(session, study, self.url_masked)
            row = session.execute(
                select(TrialModel, ActivationModel)
                .outerjoin(ActivationModel, TrialModel.activation_id == ActivationModel.id)
                .where(
                    TrialModel.study_id == st.id,
                    TrialModel.tune_trial_id == tune_trial_id,
                )
            ).first()
            return None if row is None else trial_record(row[0], st.name, row[1])

        return self._run(work)
