"""The trial record: one typed shape, plain data through Ray, the stored part read back."""

from __future__ import annotations

import json

import pytest

from afsearch.activations import build
from afsearch.compiler import candidate_record
from afsearch.exceptions import AfsearchError
from afsearch.tasks import TaskSettings
from afsearch.trial import CONFIG_KEY, Checkpoint, Reuse, TrialSpec


def _spec(**changes: object) -> TrialSpec:
    activation = {"family": "swish", "beta": 1.5, "trainable": True}
    values: dict[str, object] = {
        "activation": activation,
        "candidate": candidate_record(build(activation)),
        "task": "digits-mlp",
        "settings": TaskSettings(epochs=3, lr=1e-2, options={"width": 16}),
        "seeds": 2,
        "seed": 7,
        "metric": "val_accuracy",
        "mode": "max",
        "dedup_key": "k" * 24,
        "optuna_trial": 4,
        "replaces": 11,
        "checkpoint_every": 1,
        "checkpoint_min_seconds": 30.0,
        "resume_from": Checkpoint("/runs/s/t/checkpoint_000002", 2),
        "reuse": Reuse(3, ({"val_accuracy": 0.5},), {"mean": {"beta": 1.4}}),
    }
    values.update(changes)
    return TrialSpec(**values)  # type: ignore[arg-type]


def test_round_trip_through_plain_data() -> None:
    spec = _spec()
    data = json.loads(json.dumps(spec.to_dict()))  # what Tune carries is JSON-able
    assert TrialSpec.from_dict(data) == spec
    assert TrialSpec.of_config({CONFIG_KEY: data}) == spec


def test_stored_config_keeps_what_the_trial_is_and_drops_how_it_ran() -> None:
    stored = _spec().stored()
    assert set(stored) == {
        "activation",
        "task",
        "settings",
        "seeds",
        "seed",
        "metric",
        "mode",
        "dedup_key",
        "cpus_per_trial",
        "trial_timeout_s",
        "optuna_trial",
        "expression",
    }
    assert stored["expression"] == "x*sigmoid(beta*x)"
    back = TrialSpec.from_dict(stored)
    assert back.settings == _spec().settings and back.activation == _spec().activation
    assert back.reuse is None and back.resume_from is None and back.replaces is None
    assert back.expression == "x*sigmoid(beta*x)"


def test_training_seeds_are_spaced_per_seed() -> None:
    assert _spec().training_seeds == [7, 1007]


def test_a_config_without_settings_is_refused_in_one_sentence() -> None:
    with pytest.raises(AfsearchError, match="lacks what a trial needs"):
        TrialSpec.from_dict({"task": "digits-mlp"})
