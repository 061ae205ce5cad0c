"""Test-wide set-up: a real PostgreSQL server when its binaries are on the machine.

``scripts/test.sh`` installs Debian's postgresql package where it can. When no server URL is
given in ``AFSEARCH_TEST_PG_URL``, one is started here for the whole run, so the store suite
and the PostgreSQL fault tests run against a real server; without binaries they are skipped.
"""

from __future__ import annotations

import os

import pytest

from tests.pg import PgServer, find_bin

_SERVER: PgServer | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _SERVER
    if os.environ.get("AFSEARCH_TEST_PG_URL") or os.environ.get("AFSEARCH_TEST_NO_PG"):
        return
    bindir = find_bin()
    if bindir is None:
        return
    server = PgServer(bindir)
    try:
        server.start()
    except Exception as exc:
        print(f"afsearch tests: could not start PostgreSQL ({exc}); its tests will skip")
        server.stop()
        return
    _SERVER = server
    os.environ["AFSEARCH_TEST_PG_URL"] = server.url


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SERVER is not None:
        _SERVER.stop()


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """The server started for this run (tests that restart it need it, not just a URL)."""
    if _SERVER is None:
        pytest.skip("no PostgreSQL server was started for this run")
    return _SERVER
