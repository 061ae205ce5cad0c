"""Helpers shared by test modules."""

from __future__ import annotations

from pathlib import Path

from afsearch.activations import build
from afsearch.compiler import candidate_record
from afsearch.orchestrator import TrialSpec
from afsearch.store import TrialStore
from afsearch.tasks import TaskSettings


def store_trial(path: Path) -> str:
    """A database at ``path`` with study ``s`` and one finished trial ``s/0`` (a Swish with a
    trainable beta that learned 1.7, trained on digits-mlp); returns its URL."""
    url = f"sqlite:///{path}"
    activation = {"family": "swish", "beta": 1.5, "trainable": True}
    record = candidate_record(build(activation))
    # The config as a launch stores it.
    spec = TrialSpec(
        activation=activation,
        candidate=record,
        task="digits-mlp",
        settings=TaskSettings(epochs=1, batch_size=64, lr=0.003, options={"width": 16}),
        seeds=1,
        seed=0,
        metric="val_accuracy",
        mode="max",
        dedup_key="0" * 24,
        optuna_trial=0,
    )
    with TrialStore(url) as store:
        store.create_study(
            "s",
            space={},
            task="digits-mlp",
            metric="val_accuracy",
            mode="max",
            sampler="tpe",
            scheduler="none",
            num_samples=1,
        )
        store.upsert_activation(
            record["id"],
            expression=record["expression"],
            srepr=record["srepr"],
            latex=record["latex"],
            family=record["family"],
            params=record["params"],
        )
        tid = store.start_trial(
            "s", tune_trial_id="t0", config=spec.stored(), activation_id=record["id"]
        )
        store.record_epochs(tid, [(1, {"val_accuracy": 0.8, "train_loss": 1.0}, 0.8)])
        store.finish_trial(
            tid,
            status="completed",
            metric_value=0.8,
            learned_params={"mean": {"beta": 1.7}, "per_site": {"beta": [1.6, 1.8]}},
        )
    return url
