"""TrialStore: every write method, round-tripped through a real database."""

from __future__ import annotations

import math
import pickle
from datetime import datetime, timezone

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from afsearch.exceptions import AfsearchError
from afsearch.store import StudyStatus, TrialStatus, TrialStore, epochs, trial, trials
from afsearch.store._models import StudyModel
from afsearch.store._session import session_scope, transact
from tests.store.helpers import STUDY_DEFAULTS, add_activation, add_trial, make_study

# -- studies -------------------------------------------------------------------------------------


def test_create_and_get_study_round_trip(store: TrialStore) -> None:
    created = make_study(store)
    loaded = store.get_study("demo")
    assert loaded == created
    for key, value in STUDY_DEFAULTS.items():
        assert getattr(loaded, key) == value, key
    assert loaded.status is StudyStatus.RUNNING
    assert loaded.finished_at is None
    assert loaded.created_at.tzinfo is timezone.utc
    assert abs((datetime.now(timezone.utc) - loaded.created_at).total_seconds()) < 60


def test_create_study_refuses_an_existing_name(store: TrialStore) -> None:
    make_study(store)
    with pytest.raises(AfsearchError, match="already exists"):
        make_study(store)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [({"mode": "maximize"}, "mode"), ({"num_samples": "8"}, "num_samples")],
)
def test_create_study_checks_arguments(store: TrialStore, overrides: dict, match: str) -> None:
    with pytest.raises(AfsearchError, match=match):
        make_study(store, **overrides)


def test_create_study_refuses_an_empty_name(store: TrialStore) -> None:
    with pytest.raises(AfsearchError, match="non-empty"):
        make_study(store, name=" ")


def test_unknown_study_suggests_close_names(store: TrialStore) -> None:
    for name in ("swish-search", "gelu-search", "slaf-taylor"):
        make_study(store, name=name)
    with pytest.raises(AfsearchError, match="did you mean 'swish-search'") as info:
        store.get_study("swish-serch")
    assert "\n" not in str(info.value)
    with pytest.raises(AfsearchError, match="existing studies are 'swish-search', 'gelu-search'"):
        store.get_study("zzz")


def test_unknown_study_lists_only_the_first_few(store: TrialStore) -> None:
    for i in range(8):
        make_study(store, name=f"study-{i}")
    with pytest.raises(AfsearchError, match=r"and 3 more\)\.$"):
        store.get_study("zzz")


def test_unknown_study_in_an_empty_database(store: TrialStore) -> None:
    with pytest.raises(AfsearchError, match="no afsearch studies yet"):
        store.get_study("demo")


def test_set_study_status(store: TrialStore) -> None:
    make_study(store)
    store.set_study_status("demo", "interrupted")
    assert store.get_study("demo").status is StudyStatus.INTERRUPTED
    assert store.get_study("demo").finished_at is None
    store.set_study_status("demo", StudyStatus.COMPLETED, finished=True)
    study = store.get_study("demo")
    assert study.status is StudyStatus.COMPLETED
    assert study.finished_at is not None
    with pytest.raises(AfsearchError, match=r"status 'done' is not a valid StudyStatus; use"):
        store.set_study_status("demo", "done")


# -- activations ---------------------------------------------------------------------------------


def test_upsert_activation_is_idempotent(store: TrialStore) -> None:
    make_study(store)
    add_activation(store)
    store.upsert_activation(
        "af-0001", expression="other", srepr="other", latex="other", family="other", params={}
    )
    trial_id = store.start_trial("demo", tune_trial_id="t0", activation_id="af-0001")
    record = trial(trial_id, store)
    assert record.activation is not None
    assert record.activation.expression == "x*sigmoid(beta*x)"
    assert record.activation.params == {"beta": {"value": 1.0, "trainable": True}}
    assert record.activation.family == "swish"


# -- trials --------------------------------------------------------------------------------------


def test_start_trial_numbers_trials_and_round_trips(store: TrialStore) -> None:
    make_study(store)
    add_activation(store)
    first = store.start_trial(
        "demo",
        tune_trial_id="abc_00000",
        config={"family": "swish", "beta": np.float32(1.5), "layers": (1, 2)},
        activation_id="af-0001",
        dedup_key="af-0001:123",
        node="10.0.0.1",
    )
    second = store.start_trial("demo", tune_trial_id="abc_00001")
    record = store.trial_by_tune_id("demo", "abc_00000")
    assert record is not None
    assert record.id == first
    assert record.number == 0
    assert record.study == "demo"
    assert record.status is TrialStatus.RUNNING
    assert record.config == {"family": "swish", "beta": 1.5, "layers": [1, 2]}
    assert record.activation_id == "af-0001"
    assert record.dedup_key == "af-0001:123"
    assert record.node == "10.0.0.1"
    assert record.started_at.tzinfo is timezone.utc
    assert trial(second, store).number == 1
    assert store.trial_by_tune_id("demo", "nope") is None


def test_start_trial_is_idempotent_on_the_tune_id(store: TrialStore) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t0", node="a")
    store.finish_trial(trial_id, status="failed", error="worker died")
    again = store.start_trial("demo", tune_trial_id="t0", node="b")
    assert again == trial_id
    record = trial(trial_id, store)
    assert record.status is TrialStatus.RUNNING
    assert record.node == "b"
    assert record.error is None
    assert record.finished_at is None
    assert len(trials("demo", store)) == 1


def test_same_tune_id_in_two_studies_is_two_trials(store: TrialStore) -> None:
    make_study(store, name="a")
    make_study(store, name="b")
    assert store.start_trial("a", tune_trial_id="t0") != store.start_trial("b", tune_trial_id="t0")


def test_start_trial_with_an_explicit_number(store: TrialStore) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t5", number=5)
    assert trial(trial_id, store).number == 5
    assert trial(store.start_trial("demo", tune_trial_id="t6"), store).number == 6
    with pytest.raises(AfsearchError, match="already has a trial number 5"):
        store.start_trial("demo", tune_trial_id="other", number=5)


def test_start_trial_errors(store: TrialStore) -> None:
    with pytest.raises(AfsearchError, match="No study named 'demo'"):
        store.start_trial("demo", tune_trial_id="t0")
    make_study(store)
    with pytest.raises(AfsearchError, match="upsert_activation"):
        store.start_trial("demo", tune_trial_id="t0", activation_id="af-missing")


def test_record_epochs_round_trip(store: TrialStore) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t0")
    store.record_epochs(
        trial_id,
        [
            (e, {"accuracy": 0.5 + e / 10, "loss": np.float64(1.0 / (e + 1))}, 0.5 + e / 10)
            for e in range(3)
        ],
    )
    rows = epochs(trial_id, store)
    assert [r.epoch for r in rows] == [0, 1, 2]
    assert rows[1].metrics == {"accuracy": 0.6, "loss": 0.5}
    assert rows[2].metric_value == pytest.approx(0.7)
    assert rows[0].trial_id == trial_id


def test_record_epochs_is_an_idempotent_upsert(store: TrialStore) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t0")
    store.record_epochs(trial_id, [(1, {"accuracy": 0.5}, 0.5), (2, {"accuracy": 0.6}, 0.6)])
    # A trial resumed from the epoch-1 checkpoint reports epoch 2 again, with new values.
    store.record_epochs(trial_id, [(2, {"accuracy": 0.65, "lr": 0.1}, 0.65)])
    rows = epochs(trial_id, store)
    assert [r.epoch for r in rows] == [1, 2]
    assert rows[1].metrics == {"accuracy": 0.65, "lr": 0.1}
    assert rows[1].metric_value == 0.65
    # Within one batch, the last report of an epoch wins.
    store.record_epochs(trial_id, [(3, {"a": 1}, 1.0), (3, {"a": 2}, 2.0)])
    assert epochs(trial_id, store)[-1].metrics == {"a": 2}


def test_record_epochs_keeps_non_finite_values_as_null(store: TrialStore) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t0")
    store.record_epochs(
        trial_id, [(0, {"loss": math.nan, "grad": math.inf}, math.nan), (1, {}, math.inf)]
    )
    rows = epochs(trial_id, store)
    assert rows[0].metrics == {"loss": None, "grad": None}
    assert rows[0].metric_value is None
    assert rows[1].metric_value is None


def test_record_epochs_edge_cases(store: TrialStore) -> None:
    store.record_epochs(12345, [])  # nothing to write, nothing checked
    with pytest.raises(AfsearchError, match="No trial with id 12345"):
        store.record_epochs(12345, [(0, {}, None)])


def test_finish_trial_round_trip(store: TrialStore) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t0")
    store.finish_trial(
        trial_id,
        status="completed",
        metric_value=np.float32(0.875),
        best_epoch=3,
        learned_params={"beta": 1.25},
    )
    record = trial(trial_id, store)
    assert record.node is None
    assert record.status is TrialStatus.COMPLETED
    assert record.metric_value == 0.875
    assert record.best_epoch == 3
    assert record.learned_params == {"beta": 1.25}
    assert record.finished_at is not None
    assert record.duration_s is not None
    assert 0 <= record.duration_s < 60


def test_finish_trial_sets_the_node_when_given(store: TrialStore) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t0", node="10.0.0.1")
    store.finish_trial(trial_id, status="failed")
    assert trial(trial_id, store).node == "10.0.0.1"
    store.finish_trial(trial_id, status="completed", node="10.0.0.2")
    assert trial(trial_id, store).node == "10.0.0.2"


def test_finish_trial_as_a_duplicate(store: TrialStore) -> None:
    make_study(store)
    original = add_trial(store, "demo", "completed", 0.9)
    copy = store.start_trial("demo", tune_trial_id="copy")
    store.finish_trial(copy, status=TrialStatus.DUPLICATE, metric_value=0.9, duplicate_of=original)
    assert trial(copy, store).duplicate_of == original
    with pytest.raises(AfsearchError, match="No trial with id 999"):
        store.finish_trial(copy, status="duplicate", duplicate_of=999)
    with pytest.raises(AfsearchError, match="itself"):
        store.finish_trial(copy, status="duplicate", duplicate_of=copy)


def test_finish_trial_errors(store: TrialStore) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t0")
    with pytest.raises(AfsearchError, match="final status"):
        store.finish_trial(trial_id, status="running")
    with pytest.raises(AfsearchError, match="'exploded' is not a valid TrialStatus"):
        store.finish_trial(trial_id, status="exploded")
    with pytest.raises(AfsearchError, match="No trial with id 999"):
        store.finish_trial(999, status="failed")


def test_finish_trial_records_the_error(store: TrialStore) -> None:
    make_study(store)
    trial_id = store.start_trial("demo", tune_trial_id="t0")
    store.finish_trial(trial_id, status="diverged", metric_value=math.nan, error="loss is NaN")
    record = trial(trial_id, store)
    assert record.status is TrialStatus.DIVERGED
    assert record.metric_value is None
    assert record.error == "loss is NaN"


def test_find_reusable_returns_the_best_completed_trial(store: TrialStore) -> None:
    make_study(store, name="a")
    make_study(store, name="b")
    add_trial(store, "a", "pruned", 0.99, dedup_key="k1")
    add_trial(store, "a", "failed", None, dedup_key="k1")
    add_trial(store, "a", "running", None, dedup_key="k1")
    assert store.find_reusable("k1") is None
    add_trial(store, "a", "completed", 0.80, dedup_key="k1")
    best = add_trial(store, "b", "completed", 0.90, dedup_key="k1")
    add_trial(store, "b", "completed", 0.95, dedup_key="k2")
    found = store.find_reusable("k1")
    assert found is not None
    assert found.id == best
    assert found.study == "b"
    assert store.find_reusable("k3") is None


def test_find_reusable_follows_the_study_mode(store: TrialStore) -> None:
    make_study(store, name="loss", metric="loss", mode="min")
    low = add_trial(store, "loss", "completed", 0.1, dedup_key="k")
    add_trial(store, "loss", "completed", 0.5, dedup_key="k")
    add_trial(store, "loss", "completed", None, dedup_key="k")
    found = store.find_reusable("k")
    assert found is not None
    assert found.id == low


def test_mark_interrupted(store: TrialStore) -> None:
    make_study(store, name="a")
    make_study(store, name="b")
    running = [add_trial(store, "a", "running", None) for _ in range(3)]
    done = add_trial(store, "a", "completed", 0.5)
    other = add_trial(store, "b", "running", None)
    assert store.mark_interrupted("a") == 3
    assert {trial(t, store).status for t in running} == {TrialStatus.INTERRUPTED}
    assert trial(done, store).status is TrialStatus.COMPLETED
    assert trial(other, store).status is TrialStatus.RUNNING
    assert store.mark_interrupted("a") == 0
    # On resume, Ray Tune restarts an interrupted trial under the same id.
    tune_id = trial(running[0], store).tune_trial_id
    assert store.start_trial("a", tune_trial_id=tune_id) == running[0]
    assert trial(running[0], store).status is TrialStatus.RUNNING


# -- plumbing ------------------------------------------------------------------------------------


def test_store_pickles_as_its_url(store: TrialStore) -> None:
    make_study(store)
    clone = pickle.loads(pickle.dumps(store))
    try:
        assert clone.url == store.url
        assert clone.get_study("demo").name == "demo"
    finally:
        clone.close()


def test_url_masked_and_repr_hide_the_password(store: TrialStore) -> None:
    assert store.url_masked in repr(store)
    if store.engine.url.password:
        assert str(store.engine.url.password) not in store.url_masked
        assert str(store.engine.url.password) not in repr(store)


def test_session_scope_rolls_back_and_reraises(store: TrialStore) -> None:
    assert store._sessions is not None
    with pytest.raises(RuntimeError, match="boom"), session_scope(store._sessions) as session:
        session.add(StudyModel(name="half", **_study_columns()))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(store._sessions) as session:
        assert session.scalar(select(func.count()).select_from(StudyModel)) == 0


def test_transact_retries_transient_errors(store: TrialStore) -> None:
    assert store._sessions is not None
    calls = []

    def flaky(session: object) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("UPDATE ...", {}, Exception("database is locked"))
        return "done"

    assert transact(store._sessions, flaky, url=store.url, retries=3, delay_s=0) == "done"
    assert len(calls) == 3


def test_transact_gives_up_with_a_masked_error() -> None:
    url = "postgresql+psycopg://bob:secret@db.example.com/afs"
    calls = []

    def always_locked(session: object) -> None:
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    factory = sessionmaker(create_engine("sqlite://"))
    with pytest.raises(AfsearchError, match="unavailable after 3 attempts") as info:
        transact(factory, always_locked, url=url, retries=2, delay_s=0)
    assert "secret" not in str(info.value)
    assert len(calls) == 3


def test_transact_does_not_retry_other_errors(store: TrialStore) -> None:
    assert store._sessions is not None
    calls = []

    def broken(session: object) -> None:
        calls.append(1)
        raise OperationalError("SELECT", {}, Exception("no such column: bogus"))

    with pytest.raises(OperationalError):
        transact(store._sessions, broken, url=store.url, retries=3, delay_s=0)
    assert len(calls) == 1


def _study_columns() -> dict:
    return {
        "task": "digits",
        "metric": "accuracy",
        "mode": "max",
        "sampler": "tpe",
        "scheduler": "asha",
        "status": StudyStatus.RUNNING,
        "created_at": datetime.now(timezone.utc),
        "num_samples": 1,
    }


@pytest.mark.parametrize(("keep", "left"), [(0, []), (2, [1, 2])])
def test_a_trial_run_again_keeps_the_epochs_its_checkpoint_covers(
    store: TrialStore, keep: int, left: list[int]
) -> None:
    make_study(store)
    tid = store.start_trial("demo", tune_trial_id="first")
    store.record_epochs(tid, [(e, {"accuracy": e / 10}, e / 10) for e in (1, 2, 3)])
    store.record_checkpoint(tid, "/runs/first/checkpoint_000001", 2)
    assert store.mark_interrupted("demo") == 1
    again = store.start_trial("demo", tune_trial_id="second", replaces=tid, keep_epochs=keep)
    assert again == tid
    assert [e.epoch for e in epochs(tid, store)] == left
    row = trial(tid, store)
    assert row.status is TrialStatus.RUNNING and row.tune_trial_id == "second"
    expected = ("/runs/first/checkpoint_000001", 2) if keep else (None, None)
    assert (row.checkpoint, row.checkpoint_epoch) == expected
