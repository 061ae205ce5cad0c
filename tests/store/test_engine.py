"""URLs and engines: defaults, masking, clear errors for bad URLs, SQLite pragmas, reconnects."""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, PendingRollbackError

from afsearch.exceptions import AfsearchError
from afsearch.store import DRIVER_RETRIES, TrialStore, is_transient, mask_url, resolve_url, studies
from tests.pg import PgServer
from tests.store.helpers import make_study, pg_schema_url


def test_resolve_url_prefers_argument_then_env_then_cwd_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AFSEARCH_DB", raising=False)
    assert resolve_url() == f"sqlite:///{tmp_path / 'afsearch.db'}"
    monkeypatch.setenv("AFSEARCH_DB", "sqlite:///from-env.db")
    assert resolve_url() == "sqlite:///from-env.db"
    assert resolve_url("") == "sqlite:///from-env.db"
    assert resolve_url("sqlite:///given.db") == "sqlite:///given.db"


def test_default_store_is_afsearch_db_in_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AFSEARCH_DB", raising=False)
    with TrialStore() as store:
        make_study(store)
    assert (tmp_path / "afsearch.db").exists()
    assert [s.name for s in studies()] == ["demo"]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://bob:secret@db:5432/afs", "postgresql+psycopg://bob:***@db:5432/afs"),
        ("postgresql+psycopg://bob:s%40cr%3At@db/afs", "postgresql+psycopg://bob:***@db/afs"),
        ("postgresql+psycopg://bob@db/afs", "postgresql+psycopg://bob@db/afs"),
        ("sqlite:///afsearch.db", "sqlite:///afsearch.db"),
        ("sqlite:////tmp/a b/x.db", "sqlite:////tmp/a b/x.db"),
        ("://bob:secret@db", "://bob:***@db"),  # not parseable: masked by pattern
        ("postgresql://bob:secret@db:port/afs", "postgresql://bob:***@db:port/afs"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_url(url).count("secret") == 0


def test_mask_url_accepts_url_objects() -> None:
    url = make_url("postgresql+psycopg://bob:secret@db/afs")
    assert mask_url(url) == "postgresql+psycopg://bob:***@db/afs"


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("notadb://x", "unknown database dialect 'notadb'"),
        ("not a url", "is not a valid URL; use sqlite:///"),
        ("afsearch.db", "did you mean 'sqlite:///afsearch.db'"),
        ("postgresql://u:secret@h:notaport/db", "is not a valid URL"),
        ("postgresql+pg8000://u:secret@h/db", "needs the driver module 'pg8000'"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/db", "Cannot open the database"),
        ("sqlite:////nonexistent-afsearch-dir/x.db", "unable to open database file"),
    ],
)
def test_bad_urls_raise_one_clear_sentence_without_the_password(url: str, match: str) -> None:
    with pytest.raises(AfsearchError, match=match) as info:
        TrialStore(url)
    message = str(info.value)
    assert "secret" not in message
    assert "\n" not in message
    assert message.endswith((".", "?"))
    if "secret" in url:
        assert "***" in message


def test_unreachable_server_traceback_hides_the_password() -> None:
    with pytest.raises(AfsearchError) as info:
        TrialStore("postgresql+psycopg://u:secret@127.0.0.1:1/db")
    # The chained driver errors a traceback would show must not carry it either.
    chain: list[BaseException] = []
    error: BaseException | None = info.value
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert len(chain) > 1
    assert not [e for e in chain if "secret" in "".join(traceback.format_exception_only(e))]


def test_sqlite_connections_get_the_pragmas(store: TrialStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_in_memory_sqlite_works() -> None:
    with TrialStore("sqlite://") as store:
        make_study(store)
        assert store.get_study("demo").name == "demo"


@pytest.mark.slow
def test_store_survives_dropped_postgresql_connections(pg_url: str) -> None:
    app = "afsearch-test-reconnect"
    for url in pg_schema_url(pg_url, application_name=app):
        with TrialStore(url, retry_delay_s=0.01) as store:
            make_study(store)
            trial_id = store.start_trial("demo", tune_trial_id="t0")
            # What a server restart does to pooled connections.
            with TrialStore(url) as admin, admin.engine.connect() as connection:
                killed = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :app AND pid <> pg_backend_pid()"
                    ),
                    {"app": app},
                ).scalar()
            assert killed and killed >= 1
            store.record_epochs(trial_id, [(0, {"accuracy": 0.5}, 0.5)])
            store.finish_trial(trial_id, status="completed", metric_value=0.5)
            assert store.get_study("demo").name == "demo"


def _wrapped(cause: BaseException) -> BaseException:
    """``cause`` wrapped twice, as Optuna and afsearch wrap driver errors."""
    try:
        try:
            raise cause
        except Exception as exc:
            raise RuntimeError("An exception is raised during the commit.") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("cause", "transient"),
    [
        (OperationalError("SELECT", {}, Exception("server closed the connection")), True),
        (OperationalError("SELECT", {}, Exception("consuming input failed: EOF")), True),
        (InterfaceError("SELECT", {}, Exception("the connection is lost")), True),
        (OperationalError("SELECT", {}, Exception("Connection refused")), True),
        (PendingRollbackError("Can't reconnect until invalid transaction is rolled back"), True),
        (OperationalError("SELECT", {}, Exception("no such column: bogus")), False),
        (IntegrityError("INSERT", {}, Exception("duplicate key value")), False),
        (ValueError("value too long"), False),
    ],
)
def test_transient_errors_are_found_down_the_chain_of_causes(
    cause: BaseException, transient: bool
) -> None:
    assert is_transient(cause) is transient
    assert is_transient(_wrapped(cause)) is transient


@pytest.mark.slow
def test_a_waiting_store_outlasts_a_stopped_server(pg_server: PgServer) -> None:
    url = pg_server.url
    with TrialStore(url, retries=DRIVER_RETRIES) as store:
        make_study(store, name="outlast")
        store.close()
        pg_server.halt()
        try:
            # A reader, and a store opened without waiting, say so at once.
            started = time.monotonic()
            with pytest.raises(AfsearchError, match="Cannot open the database"):
                studies(url)
            with pytest.raises(AfsearchError, match="Cannot open the database"):
                TrialStore(url)
            assert time.monotonic() - started < 10
            # A writer that reconnects, and one opened to wait, outlast the outage.
            results: dict[str, object] = {}

            def write() -> None:
                results["reconnected"] = store.get_study("outlast").name
                with TrialStore(url, retries=DRIVER_RETRIES, wait=True) as waiting:
                    results["waited"] = waiting.get_study("outlast").name

            worker = threading.Thread(target=write)
            worker.start()
            time.sleep(1.5)
            assert worker.is_alive(), results
        finally:
            pg_server.resume()
        worker.join(timeout=90)
        assert results == {"reconnected": "outlast", "waited": "outlast"}
