"""The read API: studies, trials (top-k, status filter), trial references, epochs, DataFrames."""

from __future__ import annotations

import json
import os
import pickle

import pandas as pd
import pytest

from afsearch.exceptions import AfsearchError
from afsearch.store import (
    StudyStatus,
    StudySummary,
    TrialStatus,
    TrialStore,
    epochs,
    get_study,
    studies,
    trial,
    trials,
    trials_frame,
)
from tests.store.helpers import add_activation, add_trial, make_study


def test_studies_summarises_each_study(store: TrialStore, db_url: str) -> None:
    assert studies(db_url) == []
    make_study(store, name="acc")
    make_study(store, name="loss", metric="loss", mode="min")
    make_study(store, name="empty")
    for value in (0.5, 0.9, 0.7):
        add_trial(store, "acc", "completed", value)
    add_trial(store, "acc", "pruned", 0.95)  # a partial value never counts as best
    make_study(store, name="replays")
    add_trial(store, "replays", "duplicate", 0.8)  # a replayed full result does
    for value in (0.3, 0.1):
        add_trial(store, "loss", "completed", value)
    add_trial(store, "loss", "failed", None)
    add_trial(store, "loss", "running", None)
    summary = {s.name: s for s in studies(db_url)}
    assert list(summary) == ["acc", "loss", "empty", "replays"]
    assert summary["replays"].best_value == 0.8
    acc, loss, empty = summary["acc"], summary["loss"], summary["empty"]
    assert (acc.n_trials, acc.n_completed, acc.best_value) == (4, 3, 0.9)
    assert (loss.n_trials, loss.n_completed, loss.best_value) == (4, 2, 0.1)
    assert (empty.n_trials, empty.n_completed, empty.best_value) == (0, 0, None)
    assert (acc.task, acc.metric, acc.mode, acc.status) == ("digits", "accuracy", "max", "running")
    assert isinstance(acc, StudySummary)
    json.dumps([s.to_dict() for s in summary.values()])


def test_get_study_reads_one_study(store: TrialStore, db_url: str) -> None:
    created = make_study(store, name="swish-search")
    assert get_study("swish-search", db_url) == created
    assert get_study("swish-search", db_url).status is StudyStatus.RUNNING
    with pytest.raises(AfsearchError, match="did you mean 'swish-search'"):
        get_study("swish", db_url)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("max", [0.9, 0.7, 0.5, 0.1, None, None]),
        ("min", [0.1, 0.5, 0.7, 0.9, None, None]),
    ],
)
def test_top_k_is_mode_aware_with_missing_values_last(
    store: TrialStore, db_url: str, mode: str, expected: list
) -> None:
    make_study(store, mode=mode)
    for value in (None, 0.5, 0.9, None, 0.1, 0.7):
        add_trial(store, "demo", "failed" if value is None else "completed", value)
    top = trials("demo", db_url, top=10)
    assert [t.metric_value for t in top] == expected
    assert [t.number for t in top[-2:]] == [0, 3]  # missing values in trial order
    assert [t.metric_value for t in trials("demo", db_url, top=2)] == expected[:2]


def test_trials_without_top_are_ordered_by_number(store: TrialStore, db_url: str) -> None:
    make_study(store)
    for value in (0.3, 0.9, None, 0.1):
        add_trial(store, "demo", "completed", value)
    assert [t.number for t in trials("demo", db_url)] == [0, 1, 2, 3]


def test_status_filter(store: TrialStore, db_url: str) -> None:
    make_study(store)
    for status in ("completed", "pruned", "failed", "completed", "running", "duplicate"):
        add_trial(store, "demo", status, 0.5 if status != "failed" else None)

    def numbers(status: object) -> list[int]:
        return [t.number for t in trials("demo", db_url, status=status)]  # type: ignore[arg-type]

    assert numbers("completed") == [0, 3]
    assert numbers(TrialStatus.RUNNING) == [4]
    assert numbers(["pruned", "failed"]) == [1, 2]
    assert numbers("completed,pruned") == [0, 1, 3]
    assert numbers("interrupted") == []
    top = trials("demo", db_url, top=1, status="pruned")
    assert [t.number for t in top] == [1]
    with pytest.raises(AfsearchError, match="'finished' is not a valid TrialStatus; use"):
        trials("demo", db_url, status="finished")


@pytest.mark.parametrize("top", [0, -1, True, "3"])
def test_top_must_be_a_positive_integer(store: TrialStore, top: object) -> None:
    make_study(store)
    with pytest.raises(AfsearchError, match="top must be a positive integer"):
        trials("demo", store, top=top)  # type: ignore[arg-type]


def test_trials_of_an_unknown_study(store: TrialStore, db_url: str) -> None:
    make_study(store, name="swish-search")
    with pytest.raises(
        AfsearchError, match=r"No study named 'swish' .*did you mean 'swish-search'\?$"
    ):
        trials("swish", db_url)


def test_trial_references(store: TrialStore, db_url: str) -> None:
    make_study(store, name="a")
    make_study(store, name="team/b")  # a slash in the name still parses
    add_activation(store)
    first = add_trial(store, "a", "completed", 0.5)
    second = store.start_trial("team/b", tune_trial_id="x", activation_id="af-0001")
    assert trial(first, db_url).id == first
    assert trial(str(first), db_url).id == first
    by_ref = trial("team/b/0", db_url)
    assert by_ref.id == second
    assert by_ref.study == "team/b"
    assert by_ref.activation is not None
    assert by_ref.activation.latex == r"x \sigma(\beta x)"
    data = by_ref.to_dict()
    assert data["status"] == "running"
    assert data["activation"]["id"] == "af-0001"
    assert isinstance(data["started_at"], str)
    json.dumps(data)


@pytest.mark.parametrize(
    ("ref", "match"),
    [
        (999, "No trial with id 999"),
        ("a/7", "Study 'a' has no trial number 7"),
        ("nope/0", "No study named 'nope'"),
        ("a/x", "neither a trial id"),
        ("", "neither a trial id"),
        (1.5, "neither a trial id"),
    ],
)
def test_unknown_or_malformed_trial_references(
    store: TrialStore, db_url: str, ref: object, match: str
) -> None:
    make_study(store, name="a")
    add_trial(store, "a", "completed", 0.5)
    with pytest.raises(AfsearchError, match=match):
        trial(ref, db_url)  # type: ignore[arg-type]


def test_epochs(store: TrialStore, db_url: str) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t0")
    assert epochs(trial_id, db_url) == []
    store.record_epochs(trial_id, [(e, {"accuracy": e / 10}, e / 10) for e in (2, 0, 1)])
    assert [(e.epoch, e.metric_value) for e in epochs(trial_id, db_url)] == [
        (0, 0.0),
        (1, 0.1),
        (2, 0.2),
    ]
    with pytest.raises(AfsearchError, match="No trial with id 999"):
        epochs(999, db_url)
    with pytest.raises(AfsearchError, match="trial_id must be an integer"):
        epochs("demo/0", db_url)  # type: ignore[arg-type]


def test_trials_frame(store: TrialStore, db_url: str) -> None:
    make_study(store)
    add_activation(store)
    first = store.start_trial(
        "demo",
        tune_trial_id="t0",
        config={"lr": 0.1, "act": {"family": "swish", "beta": 1.0}},
        activation_id="af-0001",
    )
    # The shape the trainable writes: means and the value at each activation site.
    store.finish_trial(
        first,
        status="completed",
        metric_value=0.9,
        learned_params={"mean": {"beta": 1.3}, "per_site": {"beta": [1.2, 1.4]}},
    )
    second = store.start_trial("demo", tune_trial_id="t1", config={"lr": 0.01})
    store.finish_trial(
        second,
        status="completed",
        metric_value=0.8,
        learned_params={"alpha": {"value": 0.2, "trainable": True}},
    )
    frame = trials_frame("demo", db_url)
    assert list(frame["number"]) == [0, 1]
    assert list(frame["config.lr"]) == [0.1, 0.01]
    assert frame.loc[0, "config.act.beta"] == 1.0
    assert frame.loc[0, "learned.beta"] == 1.3
    assert pd.isna(frame.loc[0, "learned.alpha"])
    assert not [c for c in frame.columns if c.startswith(("learned.mean", "learned.per_site"))]
    assert frame.loc[1, "learned.alpha"] == 0.2
    assert frame.loc[0, "family"] == "swish"
    assert frame.loc[0, "status"] == "completed"
    assert str(frame["finished_at"].dt.tz) == "UTC"
    assert list(trials_frame("demo", db_url, top=1)["number"]) == [0]
    empty = trials_frame("demo", db_url, status="failed")
    assert len(empty) == 0
    assert "metric_value" in empty.columns


def test_readers_accept_an_open_store(store: TrialStore) -> None:
    make_study(store)
    add_trial(store, "demo", "completed", 0.5)
    assert [s.name for s in studies(store)] == ["demo"]
    assert len(trials("demo", store)) == 1
    clone = pickle.loads(pickle.dumps(store))  # not connected until used
    try:
        assert [s.name for s in studies(clone)] == ["demo"]
    finally:
        clone.close()
    store.close()
    assert [s.name for s in studies(store)] == ["demo"]


def test_readers_default_to_the_env_url(
    store: TrialStore, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_study(store)
    monkeypatch.setenv("AFSEARCH_DB", db_url)
    assert [s.name for s in studies()] == ["demo"]


def test_readers_never_create_a_database(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.delenv("AFSEARCH_DB", raising=False)
    with pytest.raises(AfsearchError, match=r"afsearch\.db' does not exist"):
        studies()
    assert not os.path.exists("afsearch.db")


def test_readers_on_a_database_without_afsearch_tables(tmp_path: object) -> None:
    import sqlite3

    path = os.path.join(str(tmp_path), "other.db")
    sqlite3.connect(path).execute("CREATE TABLE studies (id INTEGER)").connection.close()
    url = f"sqlite:///{path}"
    assert studies(url) == []
    with pytest.raises(AfsearchError, match="no afsearch studies yet"):
        trials("demo", url)
    with pytest.raises(AfsearchError, match="No trial with id 1"):
        trial(1, url)
    with pytest.raises(AfsearchError, match="No trial with id 1"):
        epochs(1, url)
    # Reading left the database as it was.
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("studies",)]
