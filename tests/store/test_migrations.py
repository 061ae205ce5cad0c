"""Migrations: exactly the afs_ tables, models and migrations agree, Optuna shares the database."""

from __future__ import annotations

from collections.abc import Iterator

import optuna
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from afsearch.exceptions import AfsearchError
from afsearch.store import TrialStore, studies, trials
from afsearch.store._migrate import HEAD_REVISION, alembic_config, head_revision
from afsearch.store._models import Base
from tests.store.helpers import add_trial, make_study

AFS_TABLES = {
    "afs_studies",
    "afs_activations",
    "afs_trials",
    "afs_trial_epochs",
    "afs_confirm_runs",
    "afs_confirm_verdicts",
}

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def raw_engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_opening_creates_exactly_the_afs_tables(db_url: str, raw_engine: Engine) -> None:
    assert _tables(raw_engine) == set()
    TrialStore(db_url).close()
    assert _tables(raw_engine) == AFS_TABLES | {"afs_alembic_version"}
    with raw_engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM afs_alembic_version")).all()
    assert versions == [(head_revision(),)]
    TrialStore(db_url).close()  # a second open is a no-op
    assert _tables(raw_engine) == AFS_TABLES | {"afs_alembic_version"}


def test_the_head_that_opening_checks_without_alembic_is_alembics_head() -> None:
    # A new migration must move HEAD_REVISION too, or every open would run Alembic.
    assert head_revision() == HEAD_REVISION


def test_migrations_match_the_models(store: TrialStore) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_name": lambda name, type_, _: type_ != "table" or name in AFS_TABLES},
        )
        assert compare_metadata(context, Base.metadata) == []


def test_top_k_index_exists(store: TrialStore) -> None:
    indexes = {
        ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes("afs_trials")
    }
    assert indexes["ix_afs_trials_study_status_metric"] == ["study_id", "status", "metric_value"]
    assert indexes["ix_afs_trials_dedup_key"] == ["dedup_key"]


def test_downgrade_to_base_and_back(db_url: str, raw_engine: Engine) -> None:
    TrialStore(db_url).close()
    with raw_engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert _tables(raw_engine) == {"afs_alembic_version"}
    with TrialStore(db_url) as store:
        make_study(store)
    assert _tables(raw_engine) >= AFS_TABLES


def test_a_database_of_the_first_revision_is_upgraded_with_its_rows(
    db_url: str, raw_engine: Engine
) -> None:
    with TrialStore(db_url) as store:
        make_study(store)
        trial_id = add_trial(store, "demo", "completed", 0.9)
    with raw_engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert "checkpoint" not in {c["name"] for c in inspect(raw_engine).get_columns("afs_trials")}
    with TrialStore(db_url) as store:
        (row,) = trials("demo", store)
        assert (row.id, row.metric_value, row.checkpoint) == (trial_id, 0.9, None)
        store.record_checkpoint(trial_id, "/runs/demo/checkpoint_000002", 2)
        store.record_checkpoint(trial_id, "/runs/demo/checkpoint_000001", 1)  # late: ignored
        (row,) = trials("demo", store)
        assert (row.checkpoint, row.checkpoint_epoch) == ("/runs/demo/checkpoint_000002", 2)


def test_a_database_from_a_newer_afsearch_is_refused(db_url: str, raw_engine: Engine) -> None:
    TrialStore(db_url).close()
    with raw_engine.begin() as connection:
        connection.execute(text("UPDATE afs_alembic_version SET version_num = '9999'"))
    with pytest.raises(AfsearchError, match="revision '9999', newer than this afsearch"):
        TrialStore(db_url)


def _use_optuna(url: str, name: str) -> list[float]:
    storage = optuna.storages.RDBStorage(url)
    try:
        study = optuna.create_study(
            study_name=name, storage=storage, direction="maximize", load_if_exists=True
        )
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        return [t.value for t in study.trials if t.value is not None]
    finally:
        storage.engine.dispose()


def _use_store(url: str, name: str) -> int:
    with TrialStore(url) as store:
        make_study(store, name=name, optuna_study_name=name)
        add_trial(store, name, "completed", 0.5)
    return len(trials(name, url))


def test_optuna_first_then_store(db_url: str, raw_engine: Engine) -> None:
    assert len(_use_optuna(db_url, "o1")) == 2
    assert _use_store(db_url, "s1") == 1
    # Both keep working, in turn, on the same database.
    assert len(_use_optuna(db_url, "o1")) == 4
    assert _use_store(db_url, "s2") == 1
    assert [s.name for s in studies(db_url)] == ["s1", "s2"]
    tables = _tables(raw_engine)
    assert {"studies", "trials", "alembic_version"} <= tables
    assert AFS_TABLES | {"afs_alembic_version"} <= tables


def test_store_first_then_optuna(db_url: str, raw_engine: Engine) -> None:
    assert _use_store(db_url, "s1") == 1
    assert len(_use_optuna(db_url, "o1")) == 2
    assert _use_store(db_url, "s2") == 1
    assert len(_use_optuna(db_url, "o1")) == 4
    with raw_engine.connect() as connection:
        optuna_version = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        ours = connection.execute(text("SELECT version_num FROM afs_alembic_version")).all()
    assert ours == [(head_revision(),)]
    assert optuna_version and optuna_version != ours


def test_store_and_optuna_open_side_by_side(db_url: str) -> None:
    storage = optuna.storages.RDBStorage(db_url)
    try:
        with TrialStore(db_url) as store:
            make_study(store)
            study = optuna.create_study(study_name="demo", storage=storage, direction="maximize")
            for _ in range(3):
                optuna_trial = study.ask()
                trial_id = store.start_trial(
                    "demo", tune_trial_id=str(optuna_trial.number), number=optuna_trial.number
                )
                store.record_epochs(trial_id, [(0, {"x": 1.0}, 1.0)])
                study.tell(optuna_trial, 1.0)
                store.finish_trial(trial_id, status="completed", metric_value=1.0)
        assert len(study.trials) == 3
        assert [t.number for t in trials("demo", db_url)] == [0, 1, 2]
    finally:
        storage.engine.dispose()
