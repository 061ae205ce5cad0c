"""Test-wide set-up: a real PostgreSQL server, started the first time a test asks for one.

A test that needs PostgreSQL takes ``pg_url`` (any server: the one ``AFSEARCH_TEST_PG_URL``
names, else the one started here) or ``pg_server`` (the server started here, for tests that stop
or restart it). The server is started from Debian's binaries (``scripts/test.sh`` installs them
where it can) once per run, on first use, and stopped at the end of the run; none is started
when ``AFSEARCH_TEST_PG_URL`` or ``AFSEARCH_TEST_NO_PG`` is set, and without binaries these tests
skip. Tests that use PostgreSQL must be marked ``slow``, so ``pytest -m "not slow"`` never
starts a server; the fixtures refuse a test that is not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.pg import NO_PG_ENV, PG_URL_ENV, PgServer, find_bin


@pytest.fixture(scope="session")
def _pg_started() -> Iterator[PgServer | str]:
    """The server started for this run, or why none was: started on first use only."""
    if os.environ.get(PG_URL_ENV):
        yield f"{PG_URL_ENV} names the server, so none is started here"
        return
    if os.environ.get(NO_PG_ENV):
        yield f"{NO_PG_ENV} is set"
        return
    bindir = find_bin()
    if bindir is None:
        yield "no PostgreSQL binaries were found (install Debian's postgresql package)"
        return
    server = PgServer(bindir)
    try:
        server.start()
    except Exception as exc:
        server.stop()
        yield f"PostgreSQL could not be started ({exc})"
        return
    try:
        yield server
    finally:
        server.stop()


def _require_slow(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("slow") is None:
        pytest.fail(
            f"{request.node.nodeid} uses PostgreSQL but is not marked slow; mark it "
            '@pytest.mark.slow so that `pytest -m "not slow"` starts no server.'
        )


@pytest.fixture
def pg_server(request: pytest.FixtureRequest) -> PgServer:
    """The server started for this run (tests that restart it need it, not just a URL)."""
    _require_slow(request)
    started = request.getfixturevalue("_pg_started")
    if isinstance(started, str):
        pytest.skip(f"no PostgreSQL server was started for this run: {started}")
    return started


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """The URL of a PostgreSQL server: ``$AFSEARCH_TEST_PG_URL``, else the one started here."""
    _require_slow(request)
    url = os.environ.get(PG_URL_ENV)
    if url:
        return url
    server: PgServer = request.getfixturevalue("pg_server")
    return server.url
