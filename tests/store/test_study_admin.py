"""Deleting, renaming and copying a study moves both halves, afsearch's rows and the Optuna
study, in one transaction; the name of a deleted study is free again."""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy

from afsearch.exceptions import AfsearchError
from afsearch.store import (
    TrialStore,
    copy_study,
    delete_study,
    epochs,
    get_study,
    optuna_study_name,
    rename_study,
    studies,
    trials,
)
from tests.store.helpers import add_activation, make_study

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(store: TrialStore, name: str, values: list[float]) -> None:
    """A study as a launch leaves it: afsearch's rows (trials, epochs, a replay) and the Optuna
    study of the same name with params, values, intermediate values and user attributes."""
    act = add_activation(store, f"af-{name}")
    make_study(store, name, optuna_study_name=optuna_study_name(name))
    store.set_study_status(name, "completed", finished=True)
    ot = optuna.create_study(
        study_name=optuna_study_name(name), storage=store.url, direction="maximize"
    )
    ids = []
    for number, value in enumerate(values):
        ot_trial = ot.ask()
        ot_trial.suggest_float("swish.beta", 0.5, 2.0)
        ot_trial.report(value / 2, 1)
        ot_trial.set_user_attr("expression", "x*sigmoid(beta*x)")
        ot.tell(ot_trial, value)
        tid = store.start_trial(
            name,
            tune_trial_id=f"{name}-{number}",
            config={"activation": {"family": "swish"}, "optuna_trial": number},
            activation_id=act,
            preferred_number=number,
        )
        store.record_epochs(tid, [(1, {"accuracy": value / 2}, value / 2), (2, {}, value)])
        store.finish_trial(tid, status="completed", metric_value=value, best_epoch=2)
        ids.append(tid)
    replay = store.start_trial(name, tune_trial_id=f"{name}-r", config={}, activation_id=act)
    store.finish_trial(replay, status="duplicate", metric_value=values[0], duplicate_of=ids[0])


def _optuna_names(url: str) -> list[str]:
    return sorted(s.study_name for s in optuna.study.get_all_study_summaries(storage=url))


def _optuna_view(url: str, name: str) -> list[tuple]:
    ot = optuna.load_study(study_name=optuna_study_name(name), storage=url)
    return [
        (t.number, t.state, t.value, t.params, t.intermediate_values, t.user_attrs)
        for t in ot.trials
    ]


def _afsearch_view(store: TrialStore, name: str) -> list[tuple]:
    rows = trials(name, store)
    return [
        (
            t.number,
            t.status,
            t.metric_value,
            t.config,
            t.activation_id,
            [(e.epoch, e.metrics) for e in epochs(t.id, store)],
        )
        for t in rows
    ]


@pytest.fixture
def two(store: TrialStore) -> TrialStore:
    _study(store, "demo", [0.8, 0.9])
    _study(store, "other", [0.5])
    return store


def test_delete_removes_both_halves_and_frees_the_name(two: TrialStore) -> None:
    other_before = (_afsearch_view(two, "other"), _optuna_view(two.url, "other"))
    change = delete_study("demo", two)
    assert change.afsearch_rows == {"afs_studies": 1, "afs_trials": 3, "afs_trial_epochs": 4}
    assert change.optuna_rows["studies"] == 1 and change.optuna_rows["trials"] == 2
    assert [s.name for s in studies(two)] == ["other"]
    assert _optuna_names(two.url) == [optuna_study_name("other")]
    # Nothing of it is left behind in any table, the other study is as it was, and the
    # activations (shared by every study) stay.
    with two.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM trial_values").scalar() == 1
        assert conn.exec_driver_sql("SELECT count(*) FROM afs_trial_epochs").scalar() == 2
        assert conn.exec_driver_sql("SELECT count(*) FROM afs_activations").scalar() == 2
    assert (_afsearch_view(two, "other"), _optuna_view(two.url, "other")) == other_before
    # The name is free for a new study, in both halves.
    make_study(two, "demo")
    optuna.create_study(study_name=optuna_study_name("demo"), storage=two.url)


def test_delete_of_a_replayed_trial_leaves_the_replay_without_its_original(
    two: TrialStore,
) -> None:
    source = trials("demo", two)[0]
    replay = two.start_trial("other", tune_trial_id="x", config={})
    two.finish_trial(replay, status="duplicate", metric_value=0.8, duplicate_of=source.id)
    delete_study("demo", two)
    (kept,) = [t for t in trials("other", two) if t.id == replay]
    assert kept.duplicate_of is None and kept.metric_value == 0.8


def test_a_running_study_is_deleted_or_renamed_only_with_force(two: TrialStore) -> None:
    two.set_study_status("demo", "running")
    with pytest.raises(AfsearchError, match="'demo' is running; stop it first"):
        delete_study("demo", two)
    with pytest.raises(AfsearchError, match="--force to rename"):
        rename_study("demo", "demo2", two)
    assert len(trials("demo", two)) == 3
    delete_study("demo", two, force=True)
    assert [s.name for s in studies(two)] == ["other"]


def test_rename_moves_both_halves(two: TrialStore) -> None:
    before = (_afsearch_view(two, "demo"), _optuna_view(two.url, "demo"))
    change = rename_study("demo", "demo-v1", two)
    assert (change.study, change.target) == ("demo", "demo-v1")
    assert (_afsearch_view(two, "demo-v1"), _optuna_view(two.url, "demo-v1")) == before
    record = get_study("demo-v1", two)
    assert record.optuna_study_name == optuna_study_name("demo-v1")
    assert [t.study for t in trials("demo-v1", two)] == ["demo-v1"] * 3
    assert _optuna_names(two.url) == [optuna_study_name(n) for n in ("demo-v1", "other")]
    with pytest.raises(AfsearchError, match="No study named 'demo'"):
        get_study("demo", two)


def test_rename_and_copy_refuse_a_taken_or_invalid_name(two: TrialStore) -> None:
    with pytest.raises(AfsearchError, match="'other' already exists"):
        rename_study("demo", "other", two)
    with pytest.raises(AfsearchError, match="'other' already exists"):
        copy_study("demo", "other", two)
    optuna.create_study(study_name=optuna_study_name("taken"), storage=two.url)
    with pytest.raises(AfsearchError, match="Optuna study named 'afsearch:taken'"):
        rename_study("demo", "taken", two)
    with pytest.raises(AfsearchError, match="study name 'a b' is not valid"):
        copy_study("demo", "a b", two)
    with pytest.raises(AfsearchError, match="No study named 'nope'"):
        delete_study("nope", two)
    assert [s.name for s in studies(two)] == ["demo", "other"]


def test_copy_holds_the_same_trials_under_the_same_numbers(two: TrialStore) -> None:
    before = (_afsearch_view(two, "demo"), _optuna_view(two.url, "demo"))
    two.set_study_status("demo", "running")
    change = copy_study("demo", "demo-copy", two)
    assert change.afsearch_rows["afs_trials"] == 3 and change.optuna_rows["trials"] == 2
    assert (_afsearch_view(two, "demo"), _optuna_view(two.url, "demo")) == before
    assert (_afsearch_view(two, "demo-copy"), _optuna_view(two.url, "demo-copy")) == before
    copied = get_study("demo-copy", two)
    # A running study's copy has no driver: it is continued with --resume.
    assert copied.status.value == "interrupted" and copied.space == get_study("demo", two).space
    assert copied.optuna_study_name == optuna_study_name("demo-copy")
    # The replay points at the copy's own original, not at the other study's.
    original, _, replay = trials("demo-copy", two)
    assert replay.duplicate_of == original.id != trials("demo", two)[0].id
    # The copy lives on its own: deleting the original leaves it whole.
    delete_study("demo", two, force=True)
    assert (_afsearch_view(two, "demo-copy"), _optuna_view(two.url, "demo-copy")) == before


def test_a_failure_in_the_optuna_half_rolls_back_afsearch_s_half(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with TrialStore(url) as store:
        _study(store, "demo", [0.8])
        before = _afsearch_view(store, "demo")
        engine = sqlalchemy.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TRIGGER keep BEFORE DELETE ON studies "
                "BEGIN SELECT RAISE(ABORT, 'kept'); END"
            )
        engine.dispose()
        with pytest.raises(sqlalchemy.exc.IntegrityError, match="kept"):
            delete_study("demo", store)
        assert _afsearch_view(store, "demo") == before
        assert _optuna_names(url) == [optuna_study_name("demo")]


def test_a_study_without_an_optuna_half_is_deleted(store: TrialStore) -> None:
    make_study(store, "alone")
    store.set_study_status("alone", "failed", finished=True)
    change = delete_study("alone", store)
    assert change.optuna_rows == {} and studies(store) == []


def test_a_missing_database_file_is_not_created(tmp_path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(AfsearchError, match="does not exist"):
        delete_study("demo", f"sqlite:///{path}")
    assert not path.exists()
