"""Fixtures of the store tests: real databases, no mocks.

``db_url`` is an SQLite file in ``tmp_path`` and, in the slow suite, also a fresh schema on a
PostgreSQL server (the ``pg_url`` fixture: ``AFSEARCH_TEST_PG_URL``, or a server started on first
use), dropped after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from afsearch.store import TrialStore
from tests.store.helpers import pg_schema_url


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'afsearch.db'}"
        return
    # Asked for here, not as an argument, so the SQLite tests never start a server.
    yield from pg_schema_url(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[TrialStore]:
    with TrialStore(db_url, retry_delay_s=0.01) as opened:
        yield opened
