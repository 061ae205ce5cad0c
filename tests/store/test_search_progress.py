"""What the budget of distinct functions stores: known trials, skipped proposals, why a study
stopped, and the counts `afsearch studies` shows."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from afsearch.exceptions import AfsearchError
from afsearch.store import TrialStore, get_study, studies, trials
from afsearch.store._migrate import alembic_config
from tests.store.helpers import add_trial, make_study


def test_find_known_returns_the_first_ended_trial_of_the_same_study(store: TrialStore) -> None:
    make_study(store)
    make_study(store, "other")
    assert store.find_known("demo", "k1") is None
    add_trial(store, "other", "completed", 0.9, dedup_key="k1")  # another study's trial
    assert store.find_known("demo", "k1") is None
    first = add_trial(store, "demo", "pruned", 0.4, dedup_key="k1")
    add_trial(store, "demo", "completed", 0.8, dedup_key="k1")
    known = store.find_known("demo", "k1")
    assert known is not None and known.id == first and known.status.value == "pruned"
    # A trial that will run again is not what a proposal repeats; a replayed result is.
    add_trial(store, "demo", "interrupted", None, dedup_key="k2")
    replay = add_trial(store, "demo", "duplicate", 0.7, dedup_key="k3")
    assert store.find_known("demo", "k2") is None
    known = store.find_known("demo", "k3")
    assert known is not None and known.id == replay


def test_search_progress_is_a_total_and_survives_a_second_write(store: TrialStore) -> None:
    make_study(store)
    assert get_study("demo", store).duplicates_avoided == 0
    store.record_search_progress("demo", duplicates_avoided=3)
    store.record_search_progress("demo", duplicates_avoided=3)  # a retried write
    record = get_study("demo", store)
    assert (record.duplicates_avoided, record.stop_reason) == (3, None)
    store.record_search_progress("demo", duplicates_avoided=5, stop_reason="exhausted")
    store.record_search_progress("demo", duplicates_avoided=5)  # keeps the reason
    record = get_study("demo", store)
    assert (record.duplicates_avoided, record.stop_reason) == (5, "exhausted")
    with pytest.raises(AfsearchError, match="duplicates_avoided must be an integer"):
        store.record_search_progress("demo", duplicates_avoided=-1)


def test_studies_count_distinct_functions_pruned_trials_and_skipped_proposals(
    store: TrialStore,
) -> None:
    make_study(store)
    add_trial(store, "demo", "completed", 0.9, dedup_key="a")
    add_trial(store, "demo", "pruned", 0.5, dedup_key="b")
    add_trial(store, "demo", "diverged", None, dedup_key="c")
    add_trial(store, "demo", "duplicate", 0.9, dedup_key="d")  # replayed: trained nothing
    add_trial(store, "demo", "interrupted", None, dedup_key="e")
    store.record_search_progress("demo", duplicates_avoided=4)
    (summary,) = studies(store)
    assert (summary.n_distinct, summary.n_pruned, summary.duplicates_avoided) == (3, 1, 4)


def test_a_database_of_revision_0002_is_upgraded_with_its_studies(db_url: str) -> None:
    with TrialStore(db_url) as store:
        make_study(store)
        add_trial(store, "demo", "completed", 0.9, dedup_key="a")
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        columns = {c["name"] for c in inspect(engine).get_columns("afs_studies")}
        assert "duplicates_avoided" not in columns and "stop_reason" not in columns
    finally:
        engine.dispose()
    with TrialStore(db_url) as store:
        record = get_study("demo", store)
        assert (record.duplicates_avoided, record.stop_reason) == (0, None)
        store.record_search_progress("demo", duplicates_avoided=2)
        assert get_study("demo", store).duplicates_avoided == 2


def test_extending_a_study_raises_its_samples_and_forgets_why_it_stopped(
    store: TrialStore,
) -> None:
    make_study(store, num_samples=4)
    store.record_search_progress("demo", duplicates_avoided=50, stop_reason="exhausted")
    store.extend_study("demo", 3)  # fewer than it has: nothing changes
    record = get_study("demo", store)
    assert (record.num_samples, record.stop_reason) == (4, "exhausted")
    store.extend_study("demo", 9)
    record = get_study("demo", store)
    assert (record.num_samples, record.stop_reason, record.duplicates_avoided) == (9, None, 50)
    with pytest.raises(AfsearchError, match="num_samples must be an integer of at least 1"):
        store.extend_study("demo", 0)


def test_a_trial_takes_its_preferred_number_when_it_is_free(store: TrialStore) -> None:
    make_study(store)
    first = store.start_trial("demo", tune_trial_id="a", preferred_number=4)
    second = store.start_trial("demo", tune_trial_id="b", preferred_number=4)  # taken
    numbers = {t.id: t.number for t in trials("demo", store)}
    assert (numbers[first], numbers[second]) == (4, 5)
