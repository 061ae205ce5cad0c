"""``TrialStore``: the driver's writer to the trial database.

The driver process is the only writer; Ray workers never touch the database. Every write runs
in one transaction through :func:`~afsearch.store._session.transact`, which retries locks and
lost connections, so every write here is safe to run twice.
"""

from __future__ import annotations

import difflib
import enum
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from afsearch.exceptions import AfsearchError, choices
from afsearch.store._engine import create_engine, mask_url, parse_url, resolve_url
from afsearch.store._migrate import ensure_schema
from afsearch.store._models import (
    ActivationModel,
    StudyModel,
    StudyStatus,
    TrialEpochModel,
    TrialModel,
    TrialStatus,
)
from afsearch.store._records import (
    StudyRecord,
    TrialRecord,
    finite_or_none,
    jsonable,
    study_record,
    trial_record,
    utc,
)
from afsearch.store._session import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_DELAY_S,
    retry_transient,
    transact,
)

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)

MODES = ("max", "min")
# Names shown when a study name is unknown.
_MAX_SUGGESTIONS = 5

EpochRow = tuple[int, Mapping[str, Any], "float | None"]


class TrialStore:
    """The trial database of afsearch (SQLite by default, PostgreSQL or any SQLAlchemy URL).

    Opening a store creates or upgrades afsearch's ``afs_*`` tables; Optuna's tables in the
    same database are left alone. The store pickles as its URL and reconnects lazily, so a Ray
    Tune callback may hold one.

    >>> store = TrialStore("sqlite://")  # in memory; give a file or server URL to keep it
    >>> _ = store.create_study("demo", space={}, task="digits", metric="accuracy", mode="max",
    ...                        sampler="tpe", scheduler="asha", num_samples=8)
    >>> tid = store.start_trial("demo", tune_trial_id="a1b2_00000", config={"lr": 0.1})
    >>> store.record_epochs(tid, [(0, {"accuracy": 0.88}, 0.88), (1, {"accuracy": 0.91}, 0.91)])
    >>> store.finish_trial(tid, status="completed", metric_value=0.91, best_epoch=1)
    >>> store.trial_by_tune_id("demo", "a1b2_00000").status.value
    'completed'
    """

    _url: str
    _retries: int
    _retry_delay_s: float
    _create: bool
    _engine: Engine | None
    _sessions: sessionmaker[Session] | None
    _has_schema: bool

    def __init__(
        self,
        url: str | None = None,
        *,
        retries: int = DEFAULT_RETRIES,
        retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
        wait: bool = False,
    ) -> None:
        self.__setstate__(
            {"url": resolve_url(url), "retries": retries, "retry_delay_s": retry_delay_s}
        )
        # The first connection fails at once unless asked to wait (a wrong URL is said now);
        # later reconnections wait for a restarting server as writes do.
        self._connect(patient=wait)

    @classmethod
    def _open_reader(cls, url: str | None) -> TrialStore:
        """A store for reading only: it never creates tables nor an SQLite file."""
        store = cls.__new__(cls)
        store.__setstate__({"url": resolve_url(url), "create": False})
        store._connect(patient=False)
        return store

    def _connect(self, patient: bool = True) -> None:
        if not self._create:
            _require_sqlite_file(self._url)
        engine = create_engine(self._url)
        try:
            self._has_schema = retry_transient(
                lambda: ensure_schema(engine, create=self._create),
                retries=self._retries if patient else 0,
                delay_s=self._retry_delay_s,
            )
        except BaseException:
            engine.dispose()
            raise
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL, password included: pass it on, don't print it."""
        return self._url

    @property
    def url_masked(self) -> str:
        """The database URL with the password replaced by ``***``."""
        return mask_url(self._url)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, connected on first use after unpickling."""
        if self._engine is None:
            self._connect()
        assert self._engine is not None
        return self._engine

    def _run(self, work: Callable[[Session], T]) -> T:
        if self._sessions is None:
            self._connect()
        assert self._sessions is not None
        return transact(
            self._sessions,
            work,
            url=self._url,
            retries=self._retries,
            delay_s=self._retry_delay_s,
        )

    def close(self) -> None:
        """Release the connections; the store reconnects if it is used again."""
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._sessions = None

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # Engines and sessions do not pickle; Ray pickles callbacks into tuner.pkl.
        return {
            "url": self._url,
            "retries": self._retries,
            "retry_delay_s": self._retry_delay_s,
            "create": self._create,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._url = state["url"]
        self._retries = state.get("retries", DEFAULT_RETRIES)
        self._retry_delay_s = state.get("retry_delay_s", DEFAULT_RETRY_DELAY_S)
        self._create = state.get("create", True)
        self._engine = None
        self._sessions = None
        self._has_schema = False

    def __repr__(self) -> str:
        return f"TrialStore({self.url_masked!r})"

    # -- studies ----------------------------------------------------------------------------

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
        name = _check_name(name)
        mode = _check_mode(mode)
        if isinstance(num_samples, bool) or not isinstance(num_samples, int):
            raise AfsearchError(f"num_samples must be an integer, got {num_samples!r}.")

        def work(session: Session) -> StudyRecord:
            if session.scalar(select(StudyModel.id).where(StudyModel.name == name)) is not None:
                raise _study_exists(name, self.url_masked)
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
                created_at=_now(),
                num_samples=num_samples,
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:  # created by someone else since the check
                raise _study_exists(name, self.url_masked) from exc
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
            row.finished_at = _now() if finished else None

        self._run(work)

    # -- activations ------------------------------------------------------------------------

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
            "created_at": _now(),
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

    # -- trials -----------------------------------------------------------------------------

    def start_trial(
        self,
        study: str,
        *,
        tune_trial_id: str | None,
        number: int | None = None,
        config: Mapping[str, Any] | None = None,
        activation_id: str | None = None,
        dedup_key: str | None = None,
        node: str | None = None,
        replaces: int | None = None,
        keep_epochs: int = 0,
    ) -> int:
        """Record a running trial and return its id.

        Idempotent on ``(study, tune_trial_id)``: a trial Ray Tune restarts or resumes gets its
        existing id back and is marked running again. ``number`` defaults to the study's next.
        ``replaces`` names an interrupted trial of the study that this one runs again: its row
        (and number) is reused, its epochs after ``keep_epochs`` are dropped (all of them by
        default; a trial continued from its checkpoint keeps those the checkpoint covers), so
        the trial appears once.
        """

        def work(session: Session) -> int:
            study_id = study_row(session, study, self.url_masked).id
            if activation_id is not None:
                _require_activation(session, activation_id)
            row = None
            if replaces is not None:
                row = session.get(TrialModel, replaces)
                if row is None or row.study_id != study_id:
                    raise AfsearchError(
                        f"Trial id {replaces} is not a trial of study '{study}' to run again."
                    )
                session.execute(
                    delete(TrialEpochModel).where(
                        TrialEpochModel.trial_id == row.id, TrialEpochModel.epoch > keep_epochs
                    )
                )
                if not keep_epochs:
                    row.checkpoint = row.checkpoint_epoch = None
                row.tune_trial_id = tune_trial_id
                row.started_at = _now()
                row.metric_value = None
                row.best_epoch = None
                row.learned_params = None
                row.config = jsonable(config)
            elif tune_trial_id is not None:
                row = session.scalar(
                    select(TrialModel).where(
                        TrialModel.study_id == study_id,
                        TrialModel.tune_trial_id == tune_trial_id,
                    )
                )
            if row is not None:
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
                return row.id
            next_number = number
            if next_number is None:
                last = session.scalar(
                    select(func.max(TrialModel.number)).where(TrialModel.study_id == study_id)
                )
                next_number = 0 if last is None else last + 1
            elif (
                session.scalar(
                    select(TrialModel.id).where(
                        TrialModel.study_id == study_id, TrialModel.number == next_number
                    )
                )
                is not None
            ):
                raise AfsearchError(
                    f"Study '{study}' already has a trial number {next_number}; pass another "
                    "number or leave it out to take the next free one."
                )
            row = TrialModel(
                study_id=study_id,
                number=next_number,
                tune_trial_id=tune_trial_id,
                activation_id=activation_id,
                config=jsonable(config),
                status=TrialStatus.RUNNING,
                dedup_key=dedup_key,
                node=node,
                started_at=_now(),
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
                raise _no_trial(missing[0], self.url_masked)
            if values:
                _upsert_epochs(session, values)
            for trial_id, location, epoch in saves:
                _set_checkpoint(session, trial_id, location, epoch, self.url_masked)

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
    ) -> None:
        """Record how a trial ended; ``status`` is any final status (not ``running``).

        ``node`` (where the trial ran, often only known from its results) is kept if ``None``.
        """
        final = coerce_enum(TrialStatus, status, "status")
        if final is TrialStatus.RUNNING:
            raise AfsearchError(
                "finish_trial needs a final status, got 'running'; use one of "
                f"{choices(s.value for s in TrialStatus if s is not TrialStatus.RUNNING)}."
            )

        def work(session: Session) -> None:
            row = _trial_row(session, trial_id, self.url_masked)
            if duplicate_of is not None:
                if duplicate_of == trial_id:
                    raise AfsearchError(f"Trial {trial_id} cannot be a duplicate of itself.")
                _trial_row(session, duplicate_of, self.url_masked)
            now = _now()
            row.status = final
            row.metric_value = finite_or_none(metric_value)
            row.best_epoch = best_epoch
            row.learned_params = jsonable(learned_params)
            row.error = error
            row.duplicate_of = duplicate_of
            if node is not None:
                row.node = node
            row.finished_at = now
            started = utc(row.started_at)
            row.duration_s = (now - started).total_seconds() if started is not None else None

        self._run(work)

    def record_checkpoint(self, trial_id: int, location: str, epoch: int) -> None:
        """Note where trial ``trial_id`` saved its training state after ``epoch``.

        A later epoch replaces an earlier one; an older checkpoint arriving late is ignored.
        """

        self._run(
            lambda session: _set_checkpoint(session, trial_id, location, epoch, self.url_masked)
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


# -- helpers shared with the query API ---------------------------------------------------------


def study_row(session: Session, name: str, url_masked: str) -> StudyModel:
    """The study ``name``, or an :class:`AfsearchError` that suggests existing names."""
    row = session.scalar(select(StudyModel).where(StudyModel.name == name))
    if row is not None:
        return row
    names = list(session.scalars(select(StudyModel.name).order_by(StudyModel.id)))
    raise unknown_study(name, names, url_masked)


def unknown_study(name: str, names: Sequence[str], url_masked: str) -> AfsearchError:
    head = f"No study named {name!r} in the database '{url_masked}'"
    if not names:
        return AfsearchError(f"{head}; it has no afsearch studies yet.")
    needle = str(name).lower()
    close = [n for n in names if needle and needle in n.lower()]
    close += difflib.get_close_matches(str(name), names, n=_MAX_SUGGESTIONS, cutoff=0.6)
    close = list(dict.fromkeys(close))[:_MAX_SUGGESTIONS]
    if close:
        return AfsearchError(f"{head}; did you mean {_listing(close)}?")
    shown = list(names[:_MAX_SUGGESTIONS])
    more = f" (and {len(names) - len(shown)} more)" if len(names) > len(shown) else ""
    return AfsearchError(f"{head}; existing studies are {_listing(shown)}{more}.")


def _listing(names: Sequence[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def coerce_enum(enum_cls: type[E], value: Any, argument: str) -> E:
    """``value`` (a member or its string, any case) as a member of ``enum_cls``."""
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        for member in enum_cls:
            if member.value == value.strip().lower():
                return member
    raise AfsearchError(
        f"{argument} {value!r} is not a valid {enum_cls.__name__}; use "
        f"{choices(m.value for m in enum_cls)}."
    )


def _set_checkpoint(session: Session, trial_id: int, location: str, epoch: int, url: str) -> None:
    row = _trial_row(session, trial_id, url)
    if row.checkpoint_epoch is None or epoch >= row.checkpoint_epoch:
        row.checkpoint, row.checkpoint_epoch = location, epoch


def _trial_row(session: Session, trial_id: int, url_masked: str) -> TrialModel:
    row = session.get(TrialModel, trial_id)
    if row is None:
        raise _no_trial(trial_id, url_masked)
    return row


def _no_trial(trial_id: int, url_masked: str) -> AfsearchError:
    return AfsearchError(f"No trial with id {trial_id!r} in the database '{url_masked}'.")


def _require_activation(session: Session, activation_id: str) -> None:
    if session.get(ActivationModel, activation_id) is None:
        raise AfsearchError(
            f"activation_id {activation_id!r} is not in the store; record it with "
            "upsert_activation before starting the trial."
        )


def _upsert_epochs(session: Session, values: list[dict[str, Any]]) -> None:
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


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AfsearchError(f"Study name must be a non-empty string, got {name!r}.")
    if len(name) > 255:
        raise AfsearchError(f"Study name must be at most 255 characters, got {len(name)}.")
    return name


def _check_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode.strip().lower() not in MODES:
        raise AfsearchError(f"mode {mode!r} is not valid; use {choices(MODES)}.")
    return mode.strip().lower()


def _study_exists(name: str, url_masked: str) -> AfsearchError:
    return AfsearchError(
        f"A study named {name!r} already exists in the database '{url_masked}'; resume it or "
        "choose another name."
    )


def _require_sqlite_file(url: str) -> None:
    """Readers must not create an empty SQLite file where the user mistyped a path."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    if not os.path.exists(database):
        raise AfsearchError(
            f"The database file '{os.path.abspath(database)}' does not exist; pass the URL of "
            "an existing afsearch database (--db or AFSEARCH_DB)."
        )


def _now() -> datetime:
    return datetime.now(timezone.utc)
