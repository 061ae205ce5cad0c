"""Read API of the trial database, for the CLI and for users.

Every function takes the database ``url`` (``None``: ``$AFSEARCH_DB``, then ``afsearch.db`` in
the working directory) or an open :class:`TrialStore`, and returns frozen records, never ORM
objects. Readers never create tables or SQLite files.

>>> import tempfile, os
>>> from afsearch.store import TrialStore, studies, trials, trial, epochs
>>> url = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "demo.db")
>>> with TrialStore(url) as store:
...     _ = store.create_study("demo", space={}, task="digits", metric="accuracy", mode="max",
...                            sampler="tpe", scheduler="asha", num_samples=2)
...     for n, acc in enumerate([0.9, 0.95]):
...         tid = store.start_trial("demo", tune_trial_id=f"t{n}", config={"lr": 0.1 * (n + 1)})
...         store.record_epochs(tid, [(0, {"accuracy": acc}, acc)])
...         store.finish_trial(tid, status="completed", metric_value=acc, best_epoch=0)
>>> [s.n_completed for s in studies(url)]
[2]
>>> [t.number for t in trials("demo", url, top=1)]
[1]
>>> trial("demo/1", url).config
{'lr': 0.2}
>>> epochs(trial("demo/0", url).id, url)[0].metrics
{'accuracy': 0.9}
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from afsearch.exceptions import AfsearchError
from afsearch.store._confirm import BEST_RANK
from afsearch.store._models import (
    BEST_STATUSES,
    ActivationModel,
    ConfirmVerdictModel,
    StudyModel,
    TrialEpochModel,
    TrialModel,
)
from afsearch.store._models import TrialStatus as _TrialStatus
from afsearch.store._records import (
    EpochRecord,
    StudyRecord,
    StudySummary,
    TrialRecord,
    epoch_record,
    study_record,
    trial_record,
    utc,
)
from afsearch.store._rows import coerce_enum, study_row, unknown_study
from afsearch.store._trial_store import TrialStore

if TYPE_CHECKING:
    import pandas as pd

# Columns of trials_frame before the config and learned-parameter columns.
FRAME_COLUMNS = (
    "id",
    "study",
    "number",
    "status",
    "metric_value",
    "best_epoch",
    "activation_id",
    "family",
    "expression",
    "node",
    "device",
    "duplicate_of",
    "dedup_key",
    "started_at",
    "finished_at",
    "duration_s",
    "checkpoint_epoch",
    "error",
)


@contextlib.contextmanager
def reader(url: str | TrialStore | None) -> Iterator[TrialStore]:
    """One read-only connection for several queries: pass what it yields as their ``url``
    (a :class:`TrialStore` given here is used as it is and left open)."""
    if isinstance(url, TrialStore):
        url.engine  # noqa: B018 - connects a store that was unpickled or closed
        yield url
        return
    store = TrialStore._open_reader(url)
    try:
        yield store
    finally:
        store.close()


def studies(url: str | TrialStore | None = None) -> list[StudySummary]:
    """Every study in the database, oldest first, with its trial counts and best value."""
    with reader(url) as store:
        if not store._has_schema:
            return []
        return store._run(_studies)


def _studies(session: Session) -> list[StudySummary]:
    completed = TrialModel.status == _TrialStatus.COMPLETED
    best_value = case((TrialModel.status.in_(BEST_STATUSES), TrialModel.metric_value), else_=None)
    # Replays of another study's result trained nothing; trials that run again have not ended.
    trained = TrialModel.status.notin_(
        [_TrialStatus.DUPLICATE, _TrialStatus.RUNNING, _TrialStatus.INTERRUPTED]
    )
    counts = (
        select(
            TrialModel.study_id.label("study_id"),
            func.count(TrialModel.id).label("n_trials"),
            func.count(case((completed, 1), else_=None)).label("n_completed"),
            func.count(case((TrialModel.status == _TrialStatus.PRUNED, 1), else_=None)).label(
                "n_pruned"
            ),
            func.count(func.distinct(case((trained, TrialModel.dedup_key), else_=None))).label(
                "n_distinct"
            ),
            func.max(best_value).label("best_max"),
            func.min(best_value).label("best_min"),
        )
        .group_by(TrialModel.study_id)
        .subquery()
    )
    rows = session.execute(
        select(StudyModel, counts)
        .outerjoin(counts, counts.c.study_id == StudyModel.id)
        .order_by(StudyModel.id)
    ).all()
    # The confirmed best of each study that has a confirmation (see study_best).
    confirmed = {
        study_id: (number, mean, verdict, (options or {}).get("split", "val"))
        for study_id, number, mean, verdict, options in session.execute(
            select(
                ConfirmVerdictModel.study_id,
                TrialModel.number,
                ConfirmVerdictModel.mean,
                ConfirmVerdictModel.verdict,
                ConfirmVerdictModel.options,
            )
            .join(TrialModel, ConfirmVerdictModel.trial_id == TrialModel.id)
            .where(ConfirmVerdictModel.rank == BEST_RANK)
        ).all()
    }
    return [
        StudySummary(
            name=row[0].name,
            task=row[0].task,
            metric=row[0].metric,
            mode=row[0].mode,
            status=row[0].status,
            n_trials=row.n_trials or 0,
            n_completed=row.n_completed or 0,
            best_value=row.best_max if row[0].mode == "max" else row.best_min,
            created_at=utc(row[0].created_at),  # type: ignore[arg-type]
            n_distinct=row.n_distinct or 0,
            n_pruned=row.n_pruned or 0,
            duplicates_avoided=row[0].duplicates_avoided or 0,
            stop_reason=row[0].stop_reason,
            confirmed_trial=confirmed[row[0].id][0] if row[0].id in confirmed else None,
            confirmed_mean=confirmed[row[0].id][1] if row[0].id in confirmed else None,
            confirmed_verdict=confirmed[row[0].id][2] if row[0].id in confirmed else None,
            confirmed_split=confirmed[row[0].id][3] if row[0].id in confirmed else None,
        )
        for row in rows
    ]


def get_study(name: str, url: str | TrialStore | None = None) -> StudyRecord:
    """The study called ``name``: its space, task, objective, sampler and status."""
    with reader(url) as store:
        if not store._has_schema:
            raise unknown_study(name, [], store.url_masked)
        return store._run(lambda s: study_record(study_row(s, name, store.url_masked)))


def trials(
    study: str,
    url: str | TrialStore | None = None,
    *,
    top: int | None = None,
    status: str | Iterable[str] | None = None,
) -> list[TrialRecord]:
    """Trials of ``study``: the ``top`` best by metric (mode-aware, missing values last), or
    all of them by number; ``status`` keeps only trials with that status (or those statuses).
    """
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise AfsearchError(f"top must be a positive integer, got {top!r}.")
    statuses = _statuses(status)
    with reader(url) as store:
        if not store._has_schema:
            raise unknown_study(study, [], store.url_masked)

        def work(session: Session) -> list[TrialRecord]:
            st = study_row(session, study, store.url_masked)
            stmt = (
                select(TrialModel, ActivationModel)
                .outerjoin(ActivationModel, TrialModel.activation_id == ActivationModel.id)
                .where(TrialModel.study_id == st.id)
            )
            if statuses:
                stmt = stmt.where(TrialModel.status.in_(statuses))
            if top is None:
                stmt = stmt.order_by(TrialModel.number)
            else:
                stmt = stmt.order_by(*_best_first(session, st.mode)).limit(top)
            return [trial_record(t, st.name, a) for t, a in session.execute(stmt).all()]

        return store._run(work)


def _best_first(session: Session, mode: str) -> tuple[Any, ...]:
    """ORDER BY terms: best metric value first, missing values last, then trial number."""
    value = TrialModel.metric_value
    best = value.desc() if mode == "max" else value.asc()
    dialect = session.get_bind().dialect
    version = dialect.server_version_info or ()
    if dialect.name == "postgresql" or (dialect.name == "sqlite" and version >= (3, 30)):
        # Lets the (study_id, status, metric_value) index serve a status-filtered top-k.
        return (best.nulls_last(), TrialModel.number)
    # Elsewhere NULLS LAST is not understood; "IS NULL" sorts false before true everywhere.
    return (value.is_(None), best, TrialModel.number)


def trial(ref: int | str, url: str | TrialStore | None = None) -> TrialRecord:
    """One trial, by its global id (``42``, ``"42"``) or as ``"study/number"``."""
    trial_id, study, number = _parse_ref(ref)
    with reader(url) as store:
        if not store._has_schema:
            if study is not None:
                raise unknown_study(study, [], store.url_masked)
            raise _no_trial(ref, store.url_masked)

        def work(session: Session) -> TrialRecord:
            stmt = (
                select(TrialModel, StudyModel.name, ActivationModel)
                .join(StudyModel, TrialModel.study_id == StudyModel.id)
                .outerjoin(ActivationModel, TrialModel.activation_id == ActivationModel.id)
            )
            if study is not None:
                st = study_row(session, study, store.url_masked)
                stmt = stmt.where(TrialModel.study_id == st.id, TrialModel.number == number)
            else:
                stmt = stmt.where(TrialModel.id == trial_id)
            row = session.execute(stmt).first()
            if row is None:
                raise _no_trial(ref, store.url_masked)
            return trial_record(row[0], row[1], row[2])

        return store._run(work)


def epochs(trial_id: int, url: str | TrialStore | None = None) -> list[EpochRecord]:
    """The per-epoch metrics of a trial, by epoch."""
    if isinstance(trial_id, bool) or not isinstance(trial_id, int):
        raise AfsearchError(f"trial_id must be an integer trial id, got {trial_id!r}.")
    with reader(url) as store:
        if not store._has_schema:
            raise _no_trial(trial_id, store.url_masked)

        def work(session: Session) -> list[EpochRecord]:
            if session.get(TrialModel, trial_id) is None:
                raise _no_trial(trial_id, store.url_masked)
            rows = session.scalars(
                select(TrialEpochModel)
                .where(TrialEpochModel.trial_id == trial_id)
                .order_by(TrialEpochModel.epoch)
            )
            return [epoch_record(row) for row in rows]

        return store._run(work)


def trials_frame(
    study: str,
    url: str | TrialStore | None = None,
    *,
    top: int | None = None,
    status: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """:func:`trials` as a DataFrame, one row per trial.

    Sampled hyper-parameters become ``config.<name>`` columns (nested keys joined by dots) and
    learned parameter values ``learned.<name>`` columns, like Optuna's ``params_<name>``.
    """
    import pandas as pd  # imported here: it takes longer to import than the CLI takes to answer

    records = trials(study, url, top=top, status=status)
    rows: list[dict[str, Any]] = []
    extra: dict[str, None] = {}
    for record in records:
        row: dict[str, Any] = {
            "id": record.id,
            "study": record.study,
            "number": record.number,
            "status": record.status.value,
            "metric_value": record.metric_value,
            "best_epoch": record.best_epoch,
            "activation_id": record.activation_id,
            "family": record.activation.family if record.activation else None,
            "expression": record.activation.expression if record.activation else None,
            "node": record.node,
            "device": record.device,
            "duplicate_of": record.duplicate_of,
            "dedup_key": record.dedup_key,
            "started_at": record.started_at,
            "finished_at": record.finished_at,
            "duration_s": record.duration_s,
            "checkpoint_epoch": record.checkpoint_epoch,
            "error": record.error,
        }
        flat = _flatten("config", record.config)
        flat.update(_flatten("learned", _learned_values(record.learned_params)))
        row.update(flat)
        extra.update(dict.fromkeys(flat))
        rows.append(row)
    columns = list(FRAME_COLUMNS) + sorted(extra)
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _statuses(status: str | Iterable[str] | None) -> list[_TrialStatus]:
    if status is None:
        return []
    items = [status] if isinstance(status, str) else list(status)
    result: list[_TrialStatus] = []
    for item in items:
        # Accept "completed,pruned" as the CLI passes it.
        parts = item.split(",") if isinstance(item, str) else [item]
        result.extend(coerce_enum(_TrialStatus, part, "status") for part in parts)
    return result


def _parse_ref(ref: Any) -> tuple[int | None, str | None, int | None]:
    """``(trial_id, None, None)`` or ``(None, study, number)`` for a trial reference."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref, None, None
    if isinstance(ref, str):
        text = ref.strip()
        if text.isdigit():
            return int(text), None, None
        study, sep, number = text.rpartition("/")
        if sep and study and number.isdigit():
            return None, study, int(number)
    raise AfsearchError(
        f"Trial reference {ref!r} is neither a trial id (like 42) nor 'study/number' "
        "(like 'swish-search/7')."
    )


def _no_trial(ref: Any, url_masked: str) -> AfsearchError:
    if isinstance(ref, str) and "/" in ref:
        study, _, number = ref.strip().rpartition("/")
        return AfsearchError(
            f"Study {study!r} has no trial number {number} in the database '{url_masked}'."
        )
    return AfsearchError(f"No trial with id {ref} in the database '{url_masked}'.")


def _learned_values(params: Any) -> Any:
    # Trials store {"mean": {name: value}, "per_site": {name: [value per site]}}: the frame
    # shows the means, one learned.<name> column each. Older rows may hold {name: value} or
    # {name: {"value": v, ...}}.
    if not isinstance(params, Mapping):
        return params
    if isinstance(params.get("mean"), Mapping):
        return dict(params["mean"])
    return {
        name: value["value"] if isinstance(value, Mapping) and "value" in value else value
        for name, value in params.items()
    }


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {} if value is None else {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(_flatten(f"{prefix}.{key}", item))
    return flat
