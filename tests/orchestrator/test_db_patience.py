"""The driver's Optuna calls wait for a database that restarts, and no longer than they should."""

from __future__ import annotations

import time

import optuna
import pytest
from sqlalchemy.exc import OperationalError

from afsearch.exceptions import AfsearchError
from afsearch.orchestrator import _optuna


def _lost() -> optuna.exceptions.StorageInternalError:
    # What Optuna raises when PostgreSQL drops its connection in the middle of a call.
    try:
        raise OperationalError(
            "SELECT", {}, Exception("terminating connection due to administrator command")
        )
    except OperationalError as exc:
        try:
            raise optuna.exceptions.StorageInternalError("during the commit") from exc
        except optuna.exceptions.StorageInternalError as wrapped:
            return wrapped


def test_optuna_calls_are_retried_while_the_connection_is_lost() -> None:
    calls: list[int] = []

    def flaky(value: int) -> int:
        calls.append(value)
        if len(calls) < 3:
            raise _lost()
        return value * 2

    assert _optuna.retry_optuna(flaky, 21) == 42
    assert calls == [21, 21, 21]


def test_other_storage_errors_are_not_retried() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise optuna.exceptions.StorageInternalError("value too long for column")

    with pytest.raises(optuna.exceptions.StorageInternalError):
        _optuna.retry_optuna(broken)
    assert calls == [1]


def test_a_database_that_stays_away_ends_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_optuna, "DB_RETRY_SECONDS", 0.5)

    def down() -> None:
        raise _lost()

    started = time.monotonic()
    with pytest.raises(
        AfsearchError,
        match="stayed unavailable for 0.5 s: terminating connection due to administrator command[.]$",
    ):
        _optuna.retry_optuna(down)
    assert time.monotonic() - started < 5
