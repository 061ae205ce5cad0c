"""Bring a database to the current afsearch schema with Alembic, programmatically.

afsearch keeps its revision in ``afs_alembic_version``, beside (never in) Optuna's
``alembic_version``, so the two libraries migrate the same database independently.

Opening a database that is already at :data:`HEAD_REVISION` costs one query and no Alembic
import (Alembic takes longer to import than a reading command takes to run); Alembic is
loaded only where there is something to migrate or to refuse.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from afsearch.exceptions import AfsearchError
from afsearch.store._engine import connect_error, mask_url
from afsearch.store._models import VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config

_HERE = Path(__file__).resolve().parent

#: The newest revision in ``migrations/versions``; a new migration updates it (a test checks
#: that it is Alembic's head).
HEAD_REVISION = "0008"


def alembic_config() -> Config:
    """The Alembic configuration of afsearch's migrations (``afsearch/store/alembic.ini``)."""
    from alembic.config import Config

    config = Config(str(_HERE / "alembic.ini"))
    # Set explicitly so an installed package finds its migrations wherever it lives.
    config.set_main_option("script_location", str(_HERE / "migrations"))
    return config


@functools.lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision this version of afsearch knows, as Alembic reads the scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("afsearch's migrations directory has no revisions")
    return head


@functools.lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


def current_revision(connection: Connection) -> str | None:
    """The afsearch revision of the database, ``None`` where afsearch never wrote to it."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def ensure_schema(engine: Engine, *, create: bool = True) -> bool:
    """Upgrade the database behind ``engine`` to the head revision.

    With ``create=False`` a database without afsearch tables is left alone (readers must not
    create tables) and ``False`` is returned. Returns ``True`` when the schema is at head.
    Raises :class:`AfsearchError` if the database cannot be opened or was written by a newer
    afsearch.
    """
    try:
        with engine.connect() as connection:
            if _at_head(connection):
                return True
            revision = current_revision(connection)
        if revision == head_revision():
            return True
        _check_known(engine, revision)
        if revision is None and not create:
            return False
        try:
            with engine.begin() as connection:
                _upgrade(connection)
        except DBAPIError:
            # Another process may have created the tables between our check and our upgrade
            # (SQLite runs DDL outside transactions); fine if the schema is now at head.
            with engine.connect() as connection:
                if current_revision(connection) != head_revision():
                    raise
    except DBAPIError as exc:
        raise connect_error(engine.url, exc) from exc
    return True


def _at_head(connection: Connection) -> bool:
    """Whether the database holds exactly :data:`HEAD_REVISION`, read without Alembic."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return False
    versions = table(VERSION_TABLE, column("version_num"))
    return connection.execute(select(versions.c.version_num)).scalars().all() == [HEAD_REVISION]


def _upgrade(connection: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _check_known(engine: Engine, revision: str | None) -> None:
    if revision is not None and revision not in known_revisions():
        raise AfsearchError(
            f"The database '{mask_url(engine.url)}' has afsearch schema revision '{revision}', "
            f"newer than this afsearch knows (head '{head_revision()}'); upgrade afsearch."
        )
