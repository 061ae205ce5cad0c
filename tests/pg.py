"""The PostgreSQL server of the tests: :mod:`afsearch.testing`'s, plus the environment
variables that choose it (read by ``tests/conftest.py``)."""

from __future__ import annotations

from afsearch.testing import PgServer, find_bin

#: A PostgreSQL URL to test against instead of starting a server.
PG_URL_ENV = "AFSEARCH_TEST_PG_URL"
#: Set to start no server (the PostgreSQL tests skip unless PG_URL_ENV is set).
NO_PG_ENV = "AFSEARCH_TEST_NO_PG"

__all__ = ["NO_PG_ENV", "PG_URL_ENV", "PgServer", "find_bin"]
