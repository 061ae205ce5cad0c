"""The activation factory runs SLAF and rational units through their kernels (``never``: eager;
``always``: compiled; ``auto``: compiled where the machine has the compile or where it pays),
keeps a task that differentiates its activation and per-channel sites on the program path,
and measures a kernel's cost as it trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from afsearch.activations import build
from afsearch.compiler._kernels._inductor import artifact_path
from afsearch.tasks import ActivationFactory, get_task

SLAF = {"family": "slaf", "basis": "chebyshev", "degree": 4, "tail": "none"}


@pytest.fixture
def cold_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine that has compiled no kernel, and a process whose trials trained none."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("afsearch.tasks._activation_factory._EAGER_SECONDS", {})
    return tmp_path


@pytest.mark.parametrize("config", [SLAF, {"family": "rational"}], ids=["slaf", "rational"])
def test_first_order_tasks_run_the_kernel_compiled_where_it_pays(
    config: dict, cold_machine: Path
) -> None:
    cand = build(config)
    always = ActivationFactory(cand, ["k"], "always", 0, "cpu")
    module = always.maker()()
    assert module.kernel is not None and module.compiled
    never = ActivationFactory(cand, ["k"], "never", 0, "cpu")
    module = never.maker()()
    assert module.kernel is not None and not module.compiled
    never.after_epoch(1, 1000.0, 10)
    assert not never.maker()().compiled
    # auto, on a machine that never compiled the structure: eager until it pays.
    auto = ActivationFactory(cand, ["k"], "auto", 0, "cpu")
    assert auto.sites[0].compile_mode == "auto" and not auto.maker()().compiled
    auto.after_epoch(1, 0.5, 10)  # 0.5 s spent, 4.5 s to come: not worth a compile
    assert not auto.sites[0].compiled
    auto.after_epoch(2, 4.0, 10)  # 4.5 s spent, 32 s to come
    assert auto.sites[0].compiled and all(m.compiled for m in auto.runs[0])
    # Once the machine has compiled it, auto runs it compiled from the first step.
    for what in ("forward", "backward"):
        path = artifact_path(module.kernel, torch.float32, what)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    warm = ActivationFactory(cand, ["k"], "auto", 0, "cpu")
    assert warm.sites[0].compile_mode == "always" and warm.maker()().compiled


def test_short_trials_of_one_structure_add_up_to_a_compile(
    cold_machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("afsearch.tasks._activation_factory.KERNEL_COMPILE_AFTER_S", 10.0)
    cand = build(SLAF)
    for trial in range(10):
        factory = ActivationFactory(cand, ["k"], "auto", 0, "cpu")
        factory.maker()()
        # Each trial: 1 s spent, 1 s to come; the tenth sees 10 s spent and 1 s to come.
        factory.after_epoch(1, 1.0, 2)
        assert factory.sites[0].compiled == (trial == 9), trial
    # Other functions keep the program and the torch.compile policy.
    swish = ActivationFactory(build({"family": "swish", "trainable": True}), ["s"], "auto")
    assert swish.maker()().kernel is None and swish.sites[0].compile_mode == "auto"
    swish.after_epoch(1, 5.0, 10)
    assert not swish.sites[0].compiled


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
