"""Deleting, renaming and copying a study: afsearch's rows and the Optuna study together.

A study lives in two halves of one database: afsearch's ``afs_*`` tables and the Optuna study
named :func:`optuna_study_name` beside them (what optuna-dashboard shows). Each function here
changes both halves in one transaction on one connection, so a failure part-way leaves the
database as it was, on SQLite and PostgreSQL alike.

Optuna has no API that joins a caller's transaction (``delete_study`` and ``copy_study`` commit
on their own sessions, and there is no rename), so its rows are handled through SQLAlchemy
directly. Which rows belong to a study is read from the database's own foreign keys
(reflection), not from Optuna's private models: a row belongs to a study when it reaches the
study's row through foreign keys that own (``CASCADE`` or no action); a ``SET NULL`` key is a
loose reference (a replay's ``duplicate_of``, a trial's activation) and the row it names is not
part of the study. Activations are shared by every study and stay.

>>> delete_study("demo", url)  # doctest: +SKIP
>>> rename_study("demo", "demo-v1", url)  # doctest: +SKIP
>>> copy_study("demo-v1", "demo-v2", url)  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, MetaData, Table, select, update
from sqlalchemy.orm import Session

from afsearch.exceptions import AfsearchError
from afsearch.store._models import StudyModel, StudyStatus
from afsearch.store._rows import study_row, utc_now
from afsearch.store._trial_store import TrialStore

#: Optuna's table of studies and its name column.
_OPTUNA_STUDIES, _OPTUNA_NAME = "studies", "study_name"
_AFS_STUDIES = StudyModel.__tablename__

_STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
#: Foreign-key actions of a reference that does not own the row it is on.
_LOOSE = ("SET NULL", "SET DEFAULT")
#: Rows read per statement when collecting a study's rows (below every driver's parameter cap).
_CHUNK = 500


def optuna_study_name(study: str) -> str:
    """The name of a study's Optuna study in the same database.

    >>> optuna_study_name("quickstart")
    'afsearch:quickstart'
    """
    return f"afsearch:{study}"


def check_launch_name(name: Any) -> str:
    """``name`` if a study may be launched under it; an :class:`AfsearchError` otherwise."""
    if not isinstance(name, str) or not _STUDY_NAME.match(name):
        raise AfsearchError(
            f"The study name {name!r} is not valid; use up to 100 letters, digits, '.', '_', "
            "'-' or ':', starting with a letter or digit."
        )
    return name


@dataclass(frozen=True)
class StudyChange:
    """What a delete, rename or copy did: the rows it touched in each half."""

    study: str
    #: The name after a rename or copy (the study's own name after a delete).
    target: str
    #: Rows deleted or copied in afsearch's tables, per table.
    afsearch_rows: Mapping[str, int]
    #: Rows deleted or copied in Optuna's tables (empty when the study has no Optuna half).
    optuna_rows: Mapping[str, int]


def delete_study(
    name: str, url: str | TrialStore | None = None, *, force: bool = False
) -> StudyChange:
    """Delete study ``name``: its trials, epochs and the Optuna study, in one transaction.

    A study whose status is ``running`` is refused unless ``force`` (a driver may be writing
    to it; a driver that was killed leaves it so). Afterwards the name is free for a launch.
    Files outside the database (Ray's experiment folders and the trials' checkpoints under the
    runs folder) are left where they are.
    """
    with _writer(url) as store:

        def work(session: Session) -> StudyChange:
            row = _admin_row(session, name, store.url_masked, "delete", force)
            optuna_name = row.optuna_study_name or optuna_study_name(name)
            conn = session.connection()
            meta = _reflect(conn)
            afs = _delete_tree(conn, meta, _AFS_STUDIES, [row.id])
            optuna = _delete_tree(conn, meta, _OPTUNA_STUDIES, _optuna_ids(conn, meta, optuna_name))
            session.expunge_all()
            return StudyChange(name, name, afs, optuna)

        return store._run(work)


def rename_study(
    name: str, new_name: str, url: str | TrialStore | None = None, *, force: bool = False
) -> StudyChange:
    """Rename study ``name`` to ``new_name`` in both halves, in one transaction."""
    new_name = check_launch_name(new_name)
    with _writer(url) as store:

        def work(session: Session) -> StudyChange:
            row = _admin_row(session, name, store.url_masked, "rename", force)
            conn = session.connection()
            meta = _reflect(conn)
            new_optuna = _check_free(session, meta, new_name, store.url_masked)
            old_optuna = row.optuna_study_name or optuna_study_name(name)
            optuna_ids = _optuna_ids(conn, meta, old_optuna)
            if optuna_ids:
                studies = meta.tables[_OPTUNA_STUDIES]
                conn.execute(
                    update(studies)
                    .where(studies.c[_OPTUNA_NAME] == old_optuna)
                    .values({_OPTUNA_NAME: new_optuna})
                )
            row.name = new_name
            row.optuna_study_name = new_optuna
            session.flush()
            return StudyChange(
                name,
                new_name,
                {_AFS_STUDIES: 1},
                {_OPTUNA_STUDIES: len(optuna_ids)} if optuna_ids else {},
            )

        return store._run(work)


def copy_study(name: str, new_name: str, url: str | TrialStore | None = None) -> StudyChange:
    """Copy study ``name`` as ``new_name``: every trial and epoch, and the Optuna study with
    the same trial numbers, in one transaction. The copy can be resumed like the original.

    A replay's ``duplicate_of`` inside the study is pointed at the copy's row (Optuna user
    attributes name trials by number, which the copy keeps), and the copy's trials point at the
    original's checkpoint files, which a resumed copy continues from.
    """
    new_name = check_launch_name(new_name)
    with _writer(url) as store:

        def work(session: Session) -> StudyChange:
            row = study_row(session, name, store.url_masked)
            conn = session.connection()
            meta = _reflect(conn)
            new_optuna = _check_free(session, meta, new_name, store.url_masked)
            old_optuna = row.optuna_study_name or optuna_study_name(name)
            afs = _copy_tree(
                conn,
                meta,
                _AFS_STUDIES,
                row.id,
                {
                    "name": new_name,
                    "optuna_study_name": new_optuna,
                    "created_at": utc_now(),
                    # A copy has no driver: a study copied while it ran continues by --resume.
                    "status": (
                        StudyStatus.INTERRUPTED.value
                        if row.status == StudyStatus.RUNNING
                        else row.status.value
                    ),
                },
            )
            optuna: dict[str, int] = {}
            for optuna_id in _optuna_ids(conn, meta, old_optuna):
                optuna = _copy_tree(
                    conn, meta, _OPTUNA_STUDIES, optuna_id, {_OPTUNA_NAME: new_optuna}
                )
            return StudyChange(name, new_name, afs, optuna)

        return store._run(work)


# -- checks ------------------------------------------------------------------------------------


class _writer:
    """The store to write through: the caller's, or one opened (and closed) here."""

    def __init__(self, url: str | TrialStore | None) -> None:
        self._given = url if isinstance(url, TrialStore) else None
        self._url = None if isinstance(url, TrialStore) else url
        self._opened: TrialStore | None = None

    def __enter__(self) -> TrialStore:
        if self._given is not None:
            return self._given
        # A reader's open: a mistyped SQLite path is an error, not a new empty file.
        self._opened = TrialStore._open_reader(self._url)
        if not self._opened._has_schema:
            from afsearch.store._rows import unknown_study

            raise unknown_study("", [], self._opened.url_masked)
        return self._opened

    def __exit__(self, *exc_info: object) -> None:
        if self._opened is not None:
            self._opened.close()


def _admin_row(session: Session, name: str, url_masked: str, verb: str, force: bool) -> Any:
    row = study_row(session, name, url_masked)
    if row.status == StudyStatus.RUNNING and not force:
        raise AfsearchError(
            f"The study {name!r} is running; stop it first (afsearch stop {name}), or pass "
            f"--force to {verb} it anyway if its driver is gone."
        )
    return row


def _check_free(session: Session, meta: MetaData, new_name: str, url_masked: str) -> str:
    """The Optuna name for ``new_name``, once neither half holds that name."""
    taken = session.scalar(select(StudyModel.id).where(StudyModel.name == new_name))
    if taken is not None:
        raise AfsearchError(
            f"A study named {new_name!r} already exists in the database '{url_masked}'; "
            "choose another name or delete that study first."
        )
    new_optuna = optuna_study_name(new_name)
    if _optuna_ids(session.connection(), meta, new_optuna):
        raise AfsearchError(
            f"The database '{url_masked}' already holds an Optuna study named {new_optuna!r} "
            "(not an afsearch study); delete it with optuna delete-study or choose another name."
        )
    return new_optuna


# -- rows of a study, found through the database's foreign keys --------------------------------


def _reflect(conn: Connection) -> MetaData:
    meta = MetaData()
    meta.reflect(bind=conn)
    for table in meta.tables.values():
        for column in table.columns:
            if isinstance(column.type, JSON):
                # As afsearch's models write them: Python None is SQL NULL, not JSON 'null'.
                column.type.none_as_null = True
    return meta


def _optuna_ids(conn: Connection, meta: MetaData, optuna_name: str) -> list[Any]:
    studies = meta.tables.get(_OPTUNA_STUDIES)
    if studies is None or _OPTUNA_NAME not in studies.c:
        return []
    pk = _pk(studies)
    return list(conn.scalars(select(pk).where(studies.c[_OPTUNA_NAME] == optuna_name)))


def _pk(table: Table) -> Any:
    columns = list(table.primary_key.columns)
    if len(columns) != 1:
        raise AfsearchError(
            f"The table {table.name!r} has no single-column primary key, so its rows cannot be "
            "deleted or copied with their study."
        )
    return columns[0]


def _owned_tables(meta: MetaData, root: str) -> list[tuple[Table, list[Any]]]:
    """The tables whose rows belong to a row of ``root``, parents before children, each with
    its owning foreign keys (to ``root`` or to a table before it)."""
    inside = {root}
    tree: list[tuple[Table, list[Any]]] = []
    for table in meta.sorted_tables:
        if table.name == root:
            continue
        owning = [
            fk
            for fk in table.foreign_keys
            if fk.column.table.name in inside
            and fk.column.table.name != table.name
            and (fk.ondelete or "").upper() not in _LOOSE
        ]
        if owning:
            inside.add(table.name)
            tree.append((table, owning))
    return tree


def _rows_of(
    conn: Connection, table: Table, owning: Sequence[Any], ids: Mapping[str, list[Any]]
) -> list[Any]:
    """Rows of ``table`` that an owning key ties to the collected ``ids`` of its parents."""
    rows: dict[Any, Any] = {}
    pk = _pk(table)
    for fk in owning:
        parent_ids = ids.get(fk.column.table.name, [])
        for chunk in _chunks(parent_ids):
            for r in conn.execute(select(table).where(fk.parent.in_(chunk))).mappings():
                rows[r[pk.name]] = r
    return [rows[k] for k in sorted(rows)]


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _delete_tree(
    conn: Connection, meta: MetaData, root: str, root_ids: list[Any]
) -> dict[str, int]:
    """Delete the rows of ``root`` with ``root_ids`` and every row that belongs to them,
    children first; the count per table."""
    if not root_ids or root not in meta.tables:
        return {}
    ids: dict[str, list[Any]] = {root: list(root_ids)}
    tree = _owned_tables(meta, root)
    for table, owning in tree:
        pk = _pk(table)
        ids[table.name] = [r[pk.name] for r in _rows_of(conn, table, owning, ids)]
    counts: dict[str, int] = {}
    for table in [t for t, _ in reversed(tree)] + [meta.tables[root]]:
        pk = _pk(table)
        for chunk in _chunks(ids[table.name]):
            conn.execute(table.delete().where(pk.in_(chunk)))
        if ids[table.name]:
            counts[table.name] = len(ids[table.name])
    return counts


def _insert(conn: Connection, table: Table, values: Mapping[str, Any]) -> Any:
    """Insert one row; its new primary key."""
    key = conn.execute(table.insert().values(dict(values))).inserted_primary_key
    assert key is not None  # a single INSERT ... VALUES always reports its key
    return key[0]


def _copy_tree(
    conn: Connection, meta: MetaData, root: str, root_id: Any, changes: Mapping[str, Any]
) -> dict[str, int]:
    """Copy the row ``root_id`` of ``root`` with ``changes`` and every row that belongs to it,
    with new primary keys and foreign keys pointed at the copies; the count per table."""
    table = meta.tables[root]
    pk = _pk(table)
    (original,) = conn.execute(select(table).where(pk == root_id)).mappings().all()
    values = {k: v for k, v in original.items() if k != pk.name} | dict(changes)
    new_id = _insert(conn, table, values)
    ids: dict[str, list[Any]] = {root: [root_id]}
    moved: dict[str, dict[Any, Any]] = {root: {root_id: new_id}}
    counts = {root: 1}
    tree = _owned_tables(meta, root)
    parents = {fk.column.table.name for _, owning in tree for fk in owning}
    for table, owning in tree:
        pk = _pk(table)
        rows = _rows_of(conn, table, owning, ids)
        ids[table.name] = [r[pk.name] for r in rows]
        if not rows:
            continue
        counts[table.name] = len(rows)
        keys = [fk for fk in table.foreign_keys if fk.column.table.name in moved]
        self_keys = [fk for fk in table.foreign_keys if fk.column.table.name == table.name]

        def pointed(row: Mapping[str, Any], keys: list[Any] = keys) -> dict[str, Any]:
            new = {k: v for k, v in row.items() if k != pk.name}  # noqa: B023
            for fk in keys:
                old = new.get(fk.parent.name)
                new[fk.parent.name] = moved[fk.column.table.name].get(old, old)
            return new

        if table.name in parents or self_keys:
            # Rows that others point at are inserted one by one to learn their new keys.
            mapping = moved.setdefault(table.name, {})
            for r in rows:
                mapping[r[pk.name]] = _insert(conn, table, pointed(r))
            for fk in self_keys:  # e.g. a replay of a trial of the same study
                for r in rows:
                    old_ref = r[fk.parent.name]
                    if old_ref in mapping:
                        conn.execute(
                            update(table)
                            .where(pk == mapping[r[pk.name]])
                            .values({fk.parent.name: mapping[old_ref]})
                        )
        else:
            conn.execute(table.insert(), [pointed(r) for r in rows])
    return counts
