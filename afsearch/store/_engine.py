"""Database URLs and engines: defaults, password masking, SQLite pragmas, clear errors."""

from __future__ import annotations

import os
import re
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from afsearch.exceptions import AfsearchError
from afsearch.store._names import DB_ENV, DEFAULT_FILE

# Milliseconds an SQLite connection waits for a lock before "database is locked": the driver
# shares the file with Optuna's storage and with readers such as `afsearch trials`.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Seconds to wait for a PostgreSQL server before giving up, unless the URL says otherwise.
PG_CONNECT_TIMEOUT_S = 10

_URL_EXAMPLES = "sqlite:///afsearch.db or postgresql+psycopg://USER:PASSWORD@HOST:5432/DB"
_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^:/@\s]*:)[^@\s]*@")


def resolve_url(url: str | None = None) -> str:
    """The database URL to use: ``url``, else ``$AFSEARCH_DB``, else ``afsearch.db`` in the cwd.

    >>> resolve_url("sqlite:///runs.db")
    'sqlite:///runs.db'
    """
    if url is None or not str(url).strip():
        url = os.environ.get(DB_ENV, "").strip() or None
    if url is None:
        # Absolute, so the store keeps pointing at the same file if the process changes its cwd.
        return "sqlite:///" + os.path.abspath(DEFAULT_FILE)
    return str(url).strip()


def mask_url(url: str | URL) -> str:
    """``url`` with its password replaced by ``***``, safe to print or log.

    >>> mask_url("postgresql+psycopg://bob:hunter2@db.example.com/afs")
    'postgresql+psycopg://bob:***@db.example.com/afs'
    """
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return _PASSWORD_IN_URL.sub(r"\g<head>***@", str(url))


def parse_url(url: str) -> URL:
    """Parse ``url`` or raise :class:`AfsearchError` saying what a valid URL looks like."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        hint = ""
        if "://" not in url and url.endswith((".db", ".sqlite", ".sqlite3")):
            hint = f" (did you mean 'sqlite:///{url}'?)"
        raise AfsearchError(
            f"Database URL '{mask_url(url)}' is not a valid URL{hint}; use {_URL_EXAMPLES}."
        ) from exc
    return parsed


def create_engine(url: str) -> Engine:
    """An engine for ``url`` with afsearch's connection settings.

    SQLite connections get ``busy_timeout``, ``journal_mode=WAL`` and ``foreign_keys=ON``;
    server connections are pinged before use, so a restarted PostgreSQL is reconnected.
    Raises :class:`AfsearchError` for a malformed URL or an unknown or missing driver; nothing
    is connected yet.
    """
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {}
    backend = parsed.get_backend_name()
    if (
        backend == "postgresql"
        and parsed.get_driver_name() in ("psycopg", "psycopg2")
        and "connect_timeout" not in parsed.query
    ):
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    if backend != "sqlite":
        kwargs["pool_pre_ping"] = True
    try:
        engine = sqlalchemy.create_engine(parsed, **kwargs)
    except NoSuchModuleError as exc:
        raise AfsearchError(
            f"Database URL '{mask_url(parsed)}' names the unknown database dialect "
            f"'{parsed.drivername}'; use {_URL_EXAMPLES}."
        ) from exc
    except ImportError as exc:
        if parsed.get_backend_name() == "postgresql":
            fix = "install it with pip install 'afsearch[postgres]'"
        else:
            fix = (
                "install it to try this database, though afsearch supports and tests SQLite and "
                f"PostgreSQL only: {_URL_EXAMPLES}"
            )
        raise AfsearchError(
            f"Database URL '{mask_url(parsed)}' needs the driver module '{exc.name}', which is "
            f"not installed; {fix}."
        ) from exc
    except (ArgumentError, TypeError, ValueError) as exc:
        raise AfsearchError(
            f"Database URL '{mask_url(parsed)}' has an invalid option: {first_line(exc)}."
        ) from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _set_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # WAL lets `afsearch trials` read while the driver writes; it persists on the file and
        # Optuna works with it.
        cursor.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL survives a killed process; only a power cut can lose the last
        # commits, which a resumed study re-runs. It makes each commit 2-3x faster.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def connect_error(url: str | URL, exc: BaseException) -> AfsearchError:
    """The user-facing error for a failure to open the database at ``url``."""
    reason = scrub_password(first_line(exc.orig if isinstance(exc, DBAPIError) else exc), url)
    return AfsearchError(f"Cannot open the database '{mask_url(url)}': {reason}.")


def scrub_password(text: str, url: str | URL) -> str:
    """``text`` with the URL's password removed, in case a driver echoes it."""
    try:
        password = make_url(url).password if not isinstance(url, URL) else url.password
    except (ArgumentError, ValueError):
        password = None
    if password:
        text = text.replace(str(password), "***")
    return _PASSWORD_IN_URL.sub(r"\g<head>***@", text)


def first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    for line in text.splitlines():
        # psycopg prefixes the interesting part with "connection failed: ".
        if line.strip():
            return line.strip().rstrip(".")
    return type(exc).__name__
