"""Helpers shared by test modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from afsearch.activations import build
from afsearch.compiler import activation_id
from afsearch.store import TrialStore


def store_trial(path: Path) -> str:
    """A database at ``path`` with study ``s`` and one finished trial ``s/0`` (a Swish with a
    trainable beta that learned 1.7, trained on digits-mlp); returns its URL."""
    url = f"sqlite:///{path}"
    cand = build({"family": "swish", "beta": 1.5, "trainable": True})
    config: dict[str, Any] = {
        "expression": cand.text,
        "task": "digits-mlp",
        "activation": {"family": "swish", "beta": 1.5},
        "settings": {
            "epochs": 1,
            "batch_size": 64,
            "lr": 0.003,
            "weight_decay": 0.0,
            "optimizer": "adam",
            "options": {"width": 16},
        },
    }
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
            activation_id(cand),
            expression=cand.text,
            srepr="",
            latex="",
            family="swish",
            params={"beta": {"value": 1.5, "trainable": True}},
        )
        tid = store.start_trial(
            "s", tune_trial_id="t0", config=config, activation_id=activation_id(cand)
        )
        store.record_epochs(tid, [(1, {"val_accuracy": 0.8, "train_loss": 1.0}, 0.8)])
        store.finish_trial(
            tid, status="completed", metric_value=0.8, learned_params={"mean": {"beta": 1.7}}
        )
    return url
