"""The connection half of :class:`~afsearch.store.TrialStore`: URL, engine, lifecycle, pickling.

:class:`StoreConnection` opens the database (creating or upgrading afsearch's tables), runs
each write in one retried transaction (:meth:`StoreConnection._run`), and pickles as its URL so
a Ray Tune callback may hold a store. The writes themselves live in
:mod:`afsearch.store._study_writes` and :mod:`afsearch.store._trial_writes`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from afsearch.exceptions import AfsearchError
from afsearch.store._engine import create_engine, mask_url, parse_url, resolve_url
from afsearch.store._migrate import ensure_schema
from afsearch.store._session import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_DELAY_S,
    retry_transient,
    transact,
)

T = TypeVar("T")
S = TypeVar("S", bound="StoreConnection")


class StoreConnection:
    """A connection to the trial database that reconnects lazily; the base of ``TrialStore``."""

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
    def _open_reader(cls: type[S], url: str | None) -> S:
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
        """Run ``work`` in one transaction, retried on locks and lost connections."""
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

    def __enter__(self: S) -> S:
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
