"""The strategy registry: every registered strategy through one contract, the registry's
refusals, a new strategy added with one module and one line, and the import cost."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from afsearch.exceptions import AfsearchError
from afsearch.search import (
    BaseStrategy,
    History,
    Proposal,
    check_space,
    get_strategy,
    make_strategy,
    register,
    run_local,
    strategy_names,
)
from afsearch.search._registry import STRATEGIES
from tests.helpers import checked_space

ROOT = Path(__file__).parents[2]


def _space(sampler: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "task": {"name": "digits-mlp", "epochs": 1},
        "sampler": sampler,
        "scheduler": "none",
        "num_samples": 6,
        "families": [
            {"family": "swish", "beta": [0.5, 1.0, 2.0]},
            {"family": "standard", "name": ["relu", "tanh", "gelu"]},
        ],
    }
    if get_strategy(sampler).multi_objective:
        data["objectives"] = [["val_accuracy", "max"], ["epoch_seconds", "min"]]
    return data


def _score(proposal: Any) -> float:
    """A deterministic stand-in for a training: the function's value at 1."""
    import torch

    from afsearch.activations import build
    from afsearch.compiler import CompiledActivation

    with torch.no_grad():
        return float(CompiledActivation(build(proposal.activation))(torch.tensor([1.0]))[0])


@pytest.mark.parametrize("name", strategy_names())
def test_every_strategy_searches_without_ray(name: str) -> None:
    space = checked_space(_space(name), "s.yaml")
    strategy = make_strategy(space, seed=0)
    assert isinstance(strategy, BaseStrategy) and strategy.name == name
    run = run_local(space, _score, seed=0)
    ids = [t.proposal.activation_id for t in run.trials]
    assert len(ids) == len(set(ids)) == 6  # the budget counts distinct functions
    assert run.best is not None and run.best.value == max(v for v in run.values if v is not None)


def test_a_space_smaller_than_its_budget_ends_with_a_reason() -> None:
    data = _space("random")
    data["families"] = [{"family": "standard", "name": ["relu", "tanh"]}]
    run = run_local(checked_space(data), _score, budget=5, patience=20)
    assert len(run.trials) == 2 and run.skipped == 20
    assert run.stop_reason and "repeated known functions" in run.stop_reason


def test_an_unknown_strategy_lists_the_valid_ones() -> None:
    with pytest.raises(AfsearchError, match="valid samplers are 'cmaes', 'evolution'"):
        get_strategy("annealing")
    with pytest.raises(AfsearchError, match="s.yaml: sampler: must be"):
        checked_space(_space("random") | {"sampler": "annealing"}, "s.yaml")


def test_register_refuses_a_name_taken() -> None:
    with pytest.raises(AfsearchError, match="already registered"):
        register("tpe", "afsearch.search._tpe", "TPE")


class Ascending(BaseStrategy):
    """The grid of standard activations in the space's order: the smallest strategy there is."""

    name = "ascending"

    def sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.RandomSampler(seed=seed)

    def propose(self, trial: Any, history: History) -> Proposal:
        names = ["relu", "tanh", "gelu", "silu"]
        return Proposal({"family": "standard", "name": names[history.number % 4]}, remember=True)


def test_a_new_strategy_is_one_class_and_one_registry_line() -> None:
    register("ascending", __name__, "Ascending")
    try:
        data = _space("ascending")
        data["families"] = [{"family": "standard", "name": ["relu", "tanh", "gelu", "silu"]}]
        space = checked_space(data)
        run = run_local(space, _score, budget=4)
        assert [t.activation["name"] for t in run.trials] == ["relu", "tanh", "gelu", "silu"]
        with pytest.raises(AfsearchError, match="takes no sampler_options"):
            check_space(dataclasses.replace(space, sampler_options={"x": 1}))
    finally:
        STRATEGIES.pop("ascending")


def test_importing_the_strategies_loads_no_ray_optuna_or_torch() -> None:
    code = (
        "import json, sys; import afsearch.search as s; s.strategy_names(); "
        "print(json.dumps(sorted(m for m in ('ray', 'optuna', 'torch', 'sklearn') "
        "if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert json.loads(out.stdout) == []
