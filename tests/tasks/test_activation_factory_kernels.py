"""The activation factory runs SLAF and rational units through their kernels (compiled from the
first step unless the policy is ``never``), keeps a task that differentiates its activation on
the program path, and measures a kernel's cost as it trains."""

from __future__ import annotations

import pytest
import torch

from afsearch.activations import build
from afsearch.tasks import ActivationFactory, get_task

SLAF = {"family": "slaf", "basis": "chebyshev", "degree": 4, "tail": "none"}


@pytest.mark.parametrize("config", [SLAF, {"family": "rational"}], ids=["slaf", "rational"])
def test_first_order_tasks_run_the_kernel(config: dict) -> None:
    cand = build(config)
    auto = ActivationFactory(cand, ["k"], "auto", 0, "cpu")
    module = auto.maker()()
    assert module.kernel is not None and module.compiled
    assert auto.sites[0].compile_mode == "always" and auto.sites[0].compiled
    never = ActivationFactory(cand, ["k"], "never", 0, "cpu")
    module = never.maker()()
    assert module.kernel is not None and not module.compiled
    # Other functions keep the program and its compile policy.
    swish = ActivationFactory(build({"family": "swish", "trainable": True}), ["s"], "auto")
    assert swish.maker()().kernel is None and swish.sites[0].compile_mode == "auto"


def test_a_task_that_differentiates_its_activation_keeps_the_program() -> None:
    task = get_task("pinn-poisson")
    assert task.derivatives == 2
    factory = ActivationFactory(build(SLAF), ["k"], "always", task.derivatives, "cpu")
    module = factory.maker()()
    assert module.kernel is None and not module.fused and not module.compiled
    assert factory.sites[0].compile_mode == "never"
    x = torch.linspace(-2, 2, 9, requires_grad=True)
    (d1,) = torch.autograd.grad(module(x).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    assert torch.isfinite(d2).all() and d2.abs().sum() > 0
    settings = type(task).make_settings(epochs=1)
    result = next(get_task("pinn-poisson", settings).fit(factory.maker(), seed=0))
    assert not result.diverged


def test_a_kernel_trains_and_its_cost_is_measured_as_it_runs() -> None:
    task = get_task("digits-mlp", type(get_task("digits-mlp")).make_settings(epochs=1))
    cand = build({**SLAF, "relu_mix": 0.5})
    factory = ActivationFactory(cand, ["k"], "never", 0, "cpu")
    result = next(task.fit(factory.maker(), seed=0))
    assert result.metrics["val_accuracy"] > 0.3
    learned = factory.runs[0][0].param_values()
    assert any(learned[n] != pytest.approx(v) for n, v in cand.values.items())
    cost = factory.cost()
    # Only x and the output: ReLU's memory; eager torch ops take several times its time.
    assert cost.memory == pytest.approx(1.0, abs=0.05) and cost.time > 1.0


def test_per_channel_sites_keep_the_program_and_its_policy() -> None:
    cand = build({"family": "rational", "per_channel": True})
    factory = ActivationFactory(cand, ["k"], "auto", 0, "cpu")
    module = factory.maker()(channels=8)
    assert module.kernel is None and not module.compiled
    assert factory.sites[0].compile_mode == "auto"
