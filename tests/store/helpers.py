"""Helpers of the store tests: study, activation and trial factories, PostgreSQL schemas."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from afsearch.store import StudyRecord, TrialStore


def pg_schema_url(base: str, **query: str) -> Iterator[str]:
    """A URL whose connections use a new, empty schema; the schema is dropped afterwards."""
    schema = f"afs_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}", **query})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


STUDY_DEFAULTS: dict[str, Any] = {
    "space": {"kind": "parametric", "families": ["swish", "gelu"]},
    "space_path": "search_spaces/parametric.yaml",
    "task": "digits",
    "task_settings": {"epochs": 5, "batch_size": 64},
    "metric": "accuracy",
    "mode": "max",
    "sampler": "tpe",
    "scheduler": "asha",
    "seed": 0,
    "num_samples": 16,
    "optuna_study_name": "afsearch-demo",
}


def make_study(store: TrialStore, name: str = "demo", **overrides: Any) -> StudyRecord:
    return store.create_study(name, **{**STUDY_DEFAULTS, **overrides})


def add_activation(store: TrialStore, act_id: str = "af-0001", family: str = "swish") -> str:
    store.upsert_activation(
        act_id,
        expression="x*sigmoid(beta*x)",
        srepr="Mul(Symbol('x'), Function('sigmoid')(Mul(Symbol('beta'), Symbol('x'))))",
        latex=r"x \sigma(\beta x)",
        family=family,
        params={"beta": {"value": 1.0, "trainable": True}},
    )
    return act_id


def add_trial(
    store: TrialStore,
    study: str,
    status: str,
    value: float | None,
    *,
    dedup_key: str | None = None,
) -> int:
    """A finished trial of ``study`` with ``status`` and ``value``; returns its id."""
    trial_id = store.start_trial(
        study,
        tune_trial_id=uuid.uuid4().hex[:8],
        config={"family": "swish"},
        dedup_key=dedup_key,
    )
    if status != "running":
        store.finish_trial(trial_id, status=status, metric_value=value)
    return trial_id
