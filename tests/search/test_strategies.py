"""Every sampler a space can name runs against the define-by-run space (no Ray needed)."""

from __future__ import annotations

import optuna
import pytest

from afsearch.activations import build
from afsearch.compiler import CompiledActivation
from afsearch.search import make_strategy, strategy_names
from afsearch.space import parse_space, sample_config, task_settings

SAMPLERS = strategy_names()


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_sampler_drives_a_study(sampler: str) -> None:
    data: dict = {
        "task": {"name": "digits-mlp", "epochs": 2, "lr": {"low": 1e-3, "high": 1e-2, "log": True}},
        "sampler": sampler,
        "scheduler": "none",
        "families": [
            {"family": "swish", "beta": {"low": 0.5, "high": 2.0}},
            {"family": "elu", "alpha": {"low": 0.2, "high": 2.0}},
        ],
    }
    directions = ["maximize"]
    if sampler == "grid":
        data["task"]["lr"] = [1e-3, 1e-2]
        data["families"] = [{"family": "swish", "beta": [0.5, 1.0]}, {"family": "elu"}]
    if sampler == "nsga2":
        data["objectives"] = [
            {"metric": "val_accuracy", "mode": "max"},
            {"metric": "epoch_seconds", "mode": "min"},
        ]
        directions = ["maximize", "minimize"]
    space = parse_space(data)
    study = optuna.create_study(sampler=make_strategy(space, 0).sampler(0), directions=directions)
    grid = None
    if sampler == "grid":
        from afsearch.space import grid_configs

        grid = list(grid_configs(space))

    def objective(trial: optuna.Trial) -> float | tuple[float, float]:
        if grid is not None:
            activation, values = grid[
                trial.suggest_categorical("candidate", list(range(len(grid))))
            ]
        else:
            activation, values = sample_config(trial, space)
        settings = task_settings(space, values)
        assert settings.epochs == 2
        value = float(CompiledActivation(build(activation))(__import__("torch").tensor([1.0]))[0])
        return (value, settings.lr) if len(directions) == 2 else value

    study.optimize(objective, n_trials=6)
    assert len(study.trials) == 6
    assert all(t.state.name == "COMPLETE" for t in study.trials)


def test_grid_sampler_survives_ask_and_tell_past_its_grid() -> None:
    # OptunaSearch drives Optuna by ask/tell, where Optuna's own GridSampler raises on the last
    # point (it calls Study.stop) before saving the trial's state.
    space = parse_space(
        {
            "sampler": "grid",
            "scheduler": "none",
            "families": [{"family": "standard", "name": ["relu", "gelu"]}],
        }
    )
    study = optuna.create_study(sampler=make_strategy(space, 0).sampler(0))
    for _ in range(2):
        trial = study.ask()
        trial.suggest_categorical("candidate", [0, 1])
        study.tell(trial, 1.0)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert {t.params["candidate"] for t in study.trials} == {0, 1}
