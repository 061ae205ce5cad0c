"""The PINN tasks: references that solve their PDEs, residuals that vanish on them, the
relative L2 metric, and the refusal of candidates without two continuous derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from afsearch.activations import build
from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError
from afsearch.expr import KNOWN, X, parse_expression
from afsearch.results import compare, rerun
from afsearch.tasks import BaseTask, PINNBurgers, PINNPoisson, get_task
from afsearch.tasks._pinn_burgers import burgers_reference
from afsearch.tasks._smoothness import not_smooth_reason
from afsearch.tasks._training import evaluate


class Exact(nn.Module):
    """A 'network' that is a given function of the coordinates."""

    def __init__(self, fn: object) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.fn(coords)  # type: ignore[operator]


def test_the_exact_poisson_solution_has_zero_residual_and_error() -> None:
    task = PINNPoisson(PINNPoisson.make_settings(options={"frequency": 3}))
    data = task.data(0)
    model = Exact(lambda c: torch.sin(3 * math.pi * c[:, :1]))
    assert task.training_loss(model, data.x_train, data.y_train).item() < 1e-8
    metrics = evaluate(
        task, model, data.x_val, data.y_val, "val", False, torch.float32, torch.Generator()
    )
    assert metrics["val_rel_l2"] < 1e-6
    # A wrong solution has a residual and an error.
    wrong = Exact(lambda c: torch.sin(2 * math.pi * c[:, :1]))
    assert task.training_loss(wrong, data.x_train, data.y_train).item() > 0.1


def test_rel_l2_is_the_relative_error() -> None:
    task = get_task("pinn-poisson")
    target = torch.tensor([[3.0], [4.0]])
    # u = 0 everywhere: the error is the whole reference, so the relative error is 1.
    loss = float((target**2).mean())
    assert task.loss_metrics("val", loss, target)["val_rel_l2"] == pytest.approx(1.0)


def burgers_fd_residual(nu: float) -> tuple[np.ndarray, np.ndarray]:
    x, t = np.linspace(-1, 1, 201), np.linspace(0, 1, 101)
    u = burgers_reference(x, t, nu)
    dx, dt = x[1] - x[0], t[1] - t[0]
    u_t = (u[2:, 1:-1] - u[:-2, 1:-1]) / (2 * dt)
    u_x = (u[1:-1, 2:] - u[1:-1, :-2]) / (2 * dx)
    u_xx = (u[1:-1, 2:] - 2 * u[1:-1, 1:-1] + u[1:-1, :-2]) / dx**2
    return u, u_t + u[1:-1, 1:-1] * u_x - nu * u_xx


@pytest.mark.slow
def test_the_burgers_reference_solves_the_pde() -> None:
    u, residual = burgers_fd_residual(0.1)
    assert np.abs(residual).max() < 5e-3  # finite differences of a smooth solution
    assert np.allclose(u[0], -np.sin(np.pi * np.linspace(-1, 1, 201)))
    assert np.abs(u[:, [0, -1]]).max() < 1e-12
    # A lower viscosity forms a steep front at x = 0; away from it the PDE holds too.
    u, residual = burgers_fd_residual(0.02 / math.pi)
    assert np.median(np.abs(residual)) < 1e-3
    assert np.abs(u).max() <= 1.0 + 1e-9


def test_the_burgers_reference_converges_in_its_quadrature() -> None:
    import afsearch.tasks._pinn_burgers as module

    x, t = np.linspace(-1, 1, 33), np.linspace(0, 1, 5)
    nu = 0.01 / math.pi
    coarse = burgers_reference(x, t, nu)
    points = module._QUAD_POINTS
    try:
        module._QUAD_POINTS = 4 * points
        module._burgers_cached.cache_clear()
        fine = burgers_reference(x, t, nu)
    finally:
        module._QUAD_POINTS = points
        module._burgers_cached.cache_clear()
    assert np.abs(fine - coarse).max() < 1e-10


def test_the_burgers_residual_of_a_smooth_solution_is_what_the_pde_says() -> None:
    # u = x t: u_t + u u_x - nu u_xx = x + x t^2, computed by autograd through the loss.
    task = PINNBurgers()
    coords = torch.rand(50, 2, dtype=torch.float64).requires_grad_(True)
    u = coords[:, :1] * coords[:, 1:]
    expected = coords[:, :1] + coords[:, :1] * coords[:, 1:] ** 2
    assert torch.allclose(task.residual(coords, u), expected)


def test_boundary_rows_carry_the_conditions() -> None:
    data = get_task("pinn-burgers").data(0)
    boundary = data.x_train[:, -1] == 1
    initial = boundary & (data.x_train[:, 1] == 0)
    walls = boundary & (data.x_train[:, 0].abs() == 1)
    assert int(initial.sum()) == 50 and int(walls.sum()) == 50
    x0 = data.x_train[initial, 0]
    assert torch.allclose(data.y_train[initial, 0], -torch.sin(math.pi * x0))
    assert (data.y_train[walls] == 0).all() and (data.y_train[~boundary] == 0).all()


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu"])
def test_kinked_standard_activations_are_not_smooth(name: str) -> None:
    assert not_smooth_reason(KNOWN[name](X), 2) is not None
    assert not_smooth_reason(KNOWN[name](X), 0) is None


@pytest.mark.parametrize("name", ["gelu", "silu", "mish", "tanh", "sin", "softplus", "sigmoid"])
def test_smooth_standard_activations_pass(name: str) -> None:
    assert not_smooth_reason(KNOWN[name](X), 2) is None


@pytest.mark.parametrize("text", ["abs(x)", "x*abs(x)", "sign(x)*x**2", "max(x, tanh(x))"])
def test_expressions_with_kinks_are_refused(text: str) -> None:
    assert not_smooth_reason(parse_expression(text), 2) is not None


@pytest.mark.parametrize("cls", [PINNPoisson, PINNBurgers])
def test_a_kinked_candidate_is_refused_before_training(cls: type[BaseTask]) -> None:
    task = cls(cls.make_settings(epochs=1, options=cls.smoke_options))
    relu = build({"family": "standard", "name": "relu"})
    with pytest.raises(AfsearchError) as info:
        task.check_candidate(relu)
    message = str(info.value)
    assert cls.name in message and "2 derivatives" in message and "Max" in message
    assert "\n" not in message and message.endswith(".")
    # fit refuses a compiled candidate before its first step, with the same sentence.
    with pytest.raises(AfsearchError, match="not smooth enough"):
        next(task.fit(lambda: CompiledActivation(relu), seed=0))
    assert task.derivatives == 2


def test_tasks_without_derivatives_accept_every_candidate() -> None:
    relu = build({"family": "standard", "name": "relu"})
    get_task("digits-mlp").check_candidate(relu)
    assert get_task("inr-image").derivatives == 0


def test_rerun_and_compare_refuse_a_kinked_candidate_with_a_sentence() -> None:
    with pytest.raises(AfsearchError, match="'pinn-poisson' takes 2 derivatives"):
        rerun({"family": "standard", "name": "relu"}, "pinn-poisson", seeds=[0])
    with pytest.raises(AfsearchError, match="Piecewise"):
        compare(
            [("tanh", {"family": "standard", "name": "tanh"}), ("elu", {"family": "elu"})],
            "pinn-burgers",
            seeds=[0],
        )


def test_a_smooth_candidate_trains_on_both_pinns() -> None:
    tanh = build({"family": "standard", "name": "tanh"})
    for name in ("pinn-poisson", "pinn-burgers"):
        cls = type(get_task(name))
        task = cls(cls.make_settings(epochs=1, options=cls.smoke_options))
        (result,) = task.fit(lambda: CompiledActivation(tanh), seed=0)
        assert math.isfinite(result.metrics["val_rel_l2"])


@pytest.mark.parametrize(
    ("name", "options", "words"),
    [
        ("pinn-poisson", {"frequency": 0}, ["'frequency'", "at least 1"]),
        ("pinn-poisson", {"boundary_weight": -1.0}, ["'boundary_weight'", "above 0"]),
        ("pinn-burgers", {"nu": 0.0}, ["'nu'", "viscosity"]),
        ("pinn-burgers", {"n_interior": 0}, ["'n_interior'"]),
        ("pinn-burgers", {"width": "wide"}, ["'width'", "integer"]),
    ],
)
def test_bad_options_get_a_sentence(
    name: str, options: dict[str, object], words: list[str]
) -> None:
    cls = type(get_task(name))
    with pytest.raises(AfsearchError) as info:
        cls(cls.make_settings(options=options))
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message
