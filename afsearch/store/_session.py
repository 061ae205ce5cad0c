"""The one session helper: commit, roll back on failure, retry transient database errors."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError
from sqlalchemy.orm import Session, sessionmaker

from afsearch.exceptions import AfsearchError
from afsearch.store._engine import first_line, mask_url, scrub_password

T = TypeVar("T")

DEFAULT_RETRIES = 5
DEFAULT_RETRY_DELAY_S = 0.25
MAX_RETRY_DELAY_S = 4.0
#: Retries of the study driver: it waits about 70 s for a database that restarts or fails over
#: (0.25 + 0.5 + 1 + 2 s, then 4 s apart), where a query from the command line gives up in 8 s.
DRIVER_RETRIES = 20

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
    "connection is lost",
    "connection reset",
    "broken pipe",
    "no connection to the server",
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
    """Whether ``exc`` is a lock or lost connection that is worth retrying.

    The whole chain of causes is looked at, since libraries wrap driver errors (Optuna raises
    ``StorageInternalError`` from SQLAlchemy's ``OperationalError``).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        # A session whose connection dropped mid-transaction refuses work until rolled back;
        # the retry starts a new session.
        if isinstance(current, PendingRollbackError):
            return True
        if isinstance(current, (OperationalError, InterfaceError)):
            orig = current.orig if current.orig is not None else current
            message = str(orig).lower()
            if any(marker in message for marker in _TRANSIENT_MARKERS):
                return True
        current = current.__cause__ or current.__context__
    return False


def retry_transient(
    call: Callable[[], T],
    *,
    retries: int | None = DEFAULT_RETRIES,
    delay_s: float = DEFAULT_RETRY_DELAY_S,
    max_delay_s: float = MAX_RETRY_DELAY_S,
    deadline_s: float | None = None,
) -> T:
    """``call()``, called again after each transient error (:func:`is_transient`).

    Waits ``delay_s``, doubling up to ``max_delay_s``, between calls; gives up after ``retries``
    more calls (``None``: no limit) or once ``deadline_s`` seconds have passed, and the last
    error propagates. Other errors propagate at once.
    """
    deadline = None if deadline_s is None else time.monotonic() + deadline_s
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            out_of_tries = retries is not None and attempt >= retries
            out_of_time = deadline is not None and time.monotonic() > deadline
            if out_of_tries or out_of_time or not is_transient(exc):
                raise
            time.sleep(min(delay_s * 2**attempt, max_delay_s))
            attempt += 1


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

    def once() -> T:
        with session_scope(factory) as session:
            return work(session)

    try:
        return retry_transient(once, retries=retries, delay_s=delay_s)
    except (DBAPIError, PendingRollbackError) as exc:
        if not is_transient(exc):
            raise
        orig = getattr(exc, "orig", None)
        reason = scrub_password(first_line(orig if orig is not None else exc), url)
        raise AfsearchError(
            f"The database '{mask_url(url)}' stayed unavailable after "
            f"{retries + 1} attempts: {reason}."
        ) from exc
