"""Helpers shared by test modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from afsearch.activations import build_activation
from afsearch.compiler import candidate_record
from afsearch.store import TrialStore
from afsearch.tasks import TaskSettings
from afsearch.trial import TrialSpec


def create_digits_study(
    store: TrialStore, name: str, *, sampler: str = "tpe", num_samples: int = 1
) -> None:
    """Create study ``name`` on digits-mlp (val_accuracy, max) as a launch would."""
    store.create_study(
        name,
        space={},
        task="digits-mlp",
        metric="val_accuracy",
        mode="max",
        sampler=sampler,
        scheduler="none",
        num_samples=num_samples,
    )


def add_finished_trial(
    store: TrialStore,
    study: str,
    activation: dict[str, Any],
    *,
    value: float,
    settings: TaskSettings | None = None,
    number: int = 0,
    epoch_metrics: dict[str, float] | None = None,
    learned_params: dict[str, Any] | None = None,
    optuna_trial: int | None = None,
) -> tuple[str, int]:
    """Store one completed trial of ``activation`` on digits-mlp, shaped as a launch writes it
    (activation row, config, one epoch, final value); returns its activation id and trial id."""
    record = candidate_record(build_activation(activation))
    spec = TrialSpec(
        activation=activation,
        candidate=record,
        task="digits-mlp",
        settings=settings or TaskSettings(epochs=1),
        seeds=1,
        seed=0,
        metric="val_accuracy",
        mode="max",
        dedup_key=str(number % 10) * 24,
        optuna_trial=optuna_trial,
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
        study,
        tune_trial_id=f"t{number}",
        config=spec.stored(),
        activation_id=record["id"],
        number=number,
    )
    store.record_epochs(tid, [(1, epoch_metrics or {"val_accuracy": value}, value)])
    store.finish_trial(tid, status="completed", metric_value=value, learned_params=learned_params)
    return record["id"], tid


def store_trial(path: Path) -> str:
    """A database at ``path`` with study ``s`` and one finished trial ``s/0`` (a Swish with a
    trainable beta that learned 1.7, trained on digits-mlp); returns its URL."""
    url = f"sqlite:///{path}"
    with TrialStore(url) as store:
        create_digits_study(store, "s")
        add_finished_trial(
            store,
            "s",
            {"family": "swish", "beta": 1.5, "trainable": True},
            value=0.8,
            settings=TaskSettings(epochs=1, batch_size=64, lr=0.003, options={"width": 16}),
            epoch_metrics={"val_accuracy": 0.8, "train_loss": 1.0},
            learned_params={"mean": {"beta": 1.7}, "per_site": {"beta": [1.6, 1.8]}},
            optuna_trial=0,
        )
    return url


def checked_space(data: Any, source: str = "<space>") -> Any:
    """A space as ``afsearch validate`` checks it: read, then checked by its strategy."""
    from afsearch.search import check_space
    from afsearch.space import parse_space

    space = parse_space(data, source=source)
    check_space(space)
    return space
