"""Fixtures of the store tests: real databases, no mocks.

``db_url`` is an SQLite file in ``tmp_path`` and, when ``AFSEARCH_TEST_PG_URL`` names a
PostgreSQL server (e.g. ``postgresql+psycopg://postgres:pw@127.0.0.1:5432/postgres``), also a
fresh schema on that server, dropped after the test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from afsearch.store import TrialStore
from tests.store.helpers import PG_ENV, pg_schema_url


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'afsearch.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"set {PG_ENV} to run the store tests on PostgreSQL too")
    yield from pg_schema_url(base)


@pytest.fixture
def store(db_url: str) -> Iterator[TrialStore]:
    with TrialStore(db_url, retry_delay_s=0.01) as opened:
        yield opened
