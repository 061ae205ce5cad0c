"""Trials report their activation's cost, and an NSGA-II study trades accuracy against it;
``compile: always`` trains through torch.compile. Real Ray, a real SQLite database."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import torch
import yaml

from afsearch.activations import build
from afsearch.orchestrator import launch
from afsearch.store import epochs, trials
from afsearch.tasks import ActivationFactory, get_task
from afsearch.trial.report import ACTIVATION_COST, ACTIVATION_MEMORY

pytestmark = pytest.mark.slow


def test_nsga2_searches_accuracy_against_activation_cost(ray_local, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cost.db'}"
    space = tmp_path / "s.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 16, "depth": 1}},
                "sampler": "nsga2",
                "scheduler": "none",
                "objectives": [["val_accuracy", "max"], ["activation_cost", "min"]],
                "num_samples": 3,
                "max_concurrent": 2,
                "compile": "never",
                "families": [
                    {"family": "swish", "beta": {"low": 0.5, "high": 2.0}},
                    {"family": "slaf", "degree": [3, 4]},
                ],
            }
        )
    )
    result = launch(space, study="cost", url=url, runs_dir=tmp_path / "runs")
    assert result.status == "completed"
    rows = trials("cost", url)
    assert len(rows) == 3
    for t in rows:
        assert t.status.value == "completed", t
        (last,) = epochs(t.id, url)
        assert last.metrics[ACTIVATION_COST] > 0 and last.metrics[ACTIVATION_MEMORY] >= 1.0
    ot = optuna.load_study(study_name="afsearch:cost", storage=url)
    assert [len(t.values) for t in ot.trials if t.values] == [2, 2, 2]


def test_compile_always_and_auto_in_a_training(monkeypatch: pytest.MonkeyPatch) -> None:
    task = get_task("digits-mlp", type(get_task("digits-mlp")).make_settings(epochs=2))
    # A function of several ops without a kernel (SLAF and rational units run theirs).
    cand = build({"family": "taaf", "base": "tanh"})
    always = ActivationFactory(cand, ["taaf"], "always", task.derivatives, "cpu")
    probe = always.sites[0].build()
    assert probe.input_ops > 1 and probe.kernel is None
    run = task.fit(always.maker(), seed=0, device="cpu")
    first = next(run)
    assert always.sites[0].compiled and all(m.compiled for m in always.runs[0])
    assert first.metrics["val_accuracy"] > 0.1
    # auto: compiles after the first epoch once the rest would take longer than the threshold.
    monkeypatch.setattr("afsearch.tasks._activation_factory.COMPILE_AFTER_S", 0.0)
    auto = ActivationFactory(cand, ["taaf"], "auto", task.derivatives, "cpu")
    run = task.fit(auto.maker(), seed=0, device="cpu")
    result = next(run)
    assert not auto.sites[0].compiled
    auto.after_epoch(1, result.metrics["epoch_seconds"], 2)
    cost = auto.cost()
    assert auto.sites[0].compiled and cost.time > 0 and cost.memory > 0
    next(run)
    # One op (SiLU) never compiles; nor does a task that differentiates its activation.
    silu = ActivationFactory(build({"family": "swish"}), ["silu"], "always", 0, "cpu")
    assert silu.sites[0].compile_mode == "never" and not silu.maker()().compiled
    pinn = ActivationFactory(cand, ["taaf"], "always", 2, "cpu")
    assert pinn.sites[0].compile_mode == "never" and not pinn.maker()().fused
    torch._dynamo.reset()
