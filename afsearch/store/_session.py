"""The one session helper: commit, roll back on failure, retry transient database errors."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from afsearch.exceptions import AfsearchError
from afsearch.store._engine import first_line, mask_url, scrub_password

T = TypeVar("T")

DEFAULT_RETRIES = 5
DEFAULT_RETRY_DELAY_S = 0.25
MAX_RETRY_DELAY_S = 4.0

# Lower-case fragments of driver messages that mean "try again": SQLite lock contention, and a
# PostgreSQL server that restarts or drops connections in the middle of a study.
_TRANSIENT_MARKERS = (
    "database is locked",
    "database table is locked",
    "database schema has changed",
    "server closed the connection",
    "terminating connection",
    "connection refused",
    "could not connect",
    "connection failed",
    "connection timed out",
    "connection is closed",
    "connection already closed",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "ssl connection has been closed",
    "consuming input failed",
)


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises.

    >>> with session_scope(store._sessions) as session:  # doctest: +SKIP
    ...     session.add(model)
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        # A dead connection may refuse the rollback too; the original error is the one to see.
        with contextlib.suppress(DBAPIError):
            session.rollback()
        raise
    finally:
        session.close()


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a lock or lost connection that is worth retrying."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        message = str(exc.orig if exc.orig is not None else exc).lower()
        return any(marker in message for marker in _TRANSIENT_MARKERS)
    return False


def transact(
    factory: sessionmaker[Session],
    work: Callable[[Session], T],
    *,
    url: str | URL,
    retries: int = DEFAULT_RETRIES,
    delay_s: float = DEFAULT_RETRY_DELAY_S,
) -> T:
    """Run ``work(session)`` in one transaction, retrying it on transient errors.

    ``work`` must be safe to run again from the start (every store write is idempotent or
    checks first). Other errors propagate unchanged after the rollback; a transient error that
    outlasts the retries becomes an :class:`AfsearchError` naming the (masked) database.
    """
    attempt = 0
    while True:
        try:
            with session_scope(factory) as session:
                return work(session)
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            if attempt >= retries:
                reason = scrub_password(first_line(exc.orig if exc.orig is not None else exc), url)
                raise AfsearchError(
                    f"The database '{mask_url(url)}' stayed unavailable after "
                    f"{attempt + 1} attempts: {reason}."
                ) from exc
            time.sleep(min(delay_s * 2**attempt, MAX_RETRY_DELAY_S))
            attempt += 1
