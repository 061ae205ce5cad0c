"""Recognised subexpressions compile to PyTorch's fused op and still compute the expression.

Each case is an expression as afsearch's families and standard activations write it; the
program built from it must call the named torch op, in the trial module and in the exported
source, and agree with SymPy's own evaluation of the expression in float64, with gradients that
pass gradcheck (parameters trainable and frozen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import sympy
import torch

from afsearch.activations import build
from afsearch.compiler import CompiledActivation, render_module
from afsearch.expr import Candidate, Param, X, known, sigmoid, softplus, symbol

BETA = symbol("beta")
POINTS = [-7.3, -3.1, -1.2, -0.4, 0.3, 0.9, 2.2, 5.7]


@dataclass(frozen=True)
class Case:
    expr: Any
    op: str
    params: tuple[tuple[str, float], ...] = ()


CASES = {
    "silu": Case(known("silu", X), "torch.nn.functional.silu"),
    "gelu": Case(known("gelu", X), "torch.nn.functional.gelu"),
    "mish": Case(known("mish", X), "torch.nn.functional.mish"),
    "elu": Case(known("elu", X), "torch.nn.functional.elu"),
    "selu": Case(known("selu", X), "torch.selu"),
    "relu": Case(known("relu", X), "torch.relu"),
    "leaky_relu": Case(known("leaky_relu", X), "torch.nn.functional.leaky_relu"),
    "elu-alpha": Case(
        sympy.Piecewise((X, X > 0), (sympy.Float(0.7) * (sympy.exp(X) - 1), True)),
        "torch.nn.functional.elu",
    ),
    "softplus-beta": Case(softplus(2 * X) / 2, "torch.nn.functional.softplus"),
    "gelu-tanh": Case(
        X * (1 + sympy.tanh(sympy.sqrt(2 / sympy.pi) * (X + sympy.Float(0.044715) * X**3))) / 2,
        "approximate='tanh'",
    ),
    "hardswish": Case(X * sympy.Min(6, sympy.Max(0, X + 3)) / 6, "hardswish"),
    "hardsigmoid": Case(sympy.Min(6, sympy.Max(0, X + 3)) / 6, "hardsigmoid"),
    "silu-of-sin": Case(sympy.sin(X) * sigmoid(sympy.sin(X)), "torch.nn.functional.silu"),
    "swish-beta": Case(X * sigmoid(BETA * X), "torch.nn.functional.silu", (("beta", 1.7),)),
    "swish-constant": Case(X * sigmoid(sympy.Float(1.5) * X), "torch.nn.functional.silu"),
    "gelu-beta": Case(
        X * (1 + sympy.erf(BETA * X / sympy.sqrt(2))) / 2,
        "torch.nn.functional.gelu",
        (("beta", 0.8),),
    ),
    "prelu": Case(sympy.Max(0, X) + symbol("a") * sympy.Min(0, X), "prelu", (("a", 0.3),)),
}


def candidate(case: Case, trainable: bool) -> Candidate:
    return Candidate(case.expr, {n: Param(v, trainable) for n, v in case.params})


def sympy_values(case: Case, points: list[float]) -> np.ndarray:
    expr = case.expr.xreplace({symbol(n): sympy.Float(v) for n, v in case.params})
    return np.array([float(expr.xreplace({X: sympy.Float(p)}).evalf(30)) for p in points])


# A parameter scale: exported code and the fused path run the op (and its one-kernel derivative
# in the x-only backward); the autograd path keeps u*g(b*u) as written (fewer ops recorded).
SCALED = {"swish-beta": "silu_grad", "gelu-beta": "gelu_grad"}


@pytest.mark.parametrize("name", list(CASES))
def test_recognised_forms_compile_to_the_native_op(name: str) -> None:
    case = CASES[name]
    module = CompiledActivation(candidate(case, True), torch.float64)
    templates = [ins.kernel.template for ins in module.program.instrs]
    if name in SCALED:
        assert not any(case.op in t for t in templates), templates
        backward = module.programs.backward([False] * len(case.params))
        assert any(SCALED[name] in ins.kernel.template for ins in backward.instrs)
    else:
        assert any(case.op in t for t in templates), templates
    assert case.op in render_module(candidate(case, True), "Native")
    # And never without being asked: the plain program keeps the expression's own ops.
    plain = CompiledActivation(candidate(case, True), torch.float64, native=False)
    assert not any(case.op in ins.kernel.template for ins in plain.program.instrs)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("trainable", [True, False])
@pytest.mark.parametrize("name", list(CASES))
def test_native_forms_agree_with_sympy_and_pass_gradcheck(
    name: str, trainable: bool, fused: bool
) -> None:
    case = CASES[name]
    module = CompiledActivation(candidate(case, trainable), torch.float64, fused=fused)
    x = torch.tensor(POINTS, dtype=torch.float64, requires_grad=True)
    got = module(x).detach().numpy()
    want = sympy_values(case, POINTS)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-14)
    params = list(module.parameters())
    assert len(params) == (len(case.params) if trainable else 0)

    # Gradients with respect to x by gradcheck, to each trainable parameter by central
    # differences of the summed output.
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-6, rtol=1e-5)
    if params:
        y = module(x)
        grads = torch.autograd.grad(y.sum(), params)
        for p, g in zip(params, grads):
            with torch.no_grad():
                p += 1e-6
                up = module(x).sum()
                p -= 2e-6
                down = module(x).sum()
                p += 1e-6
            assert float(g) == pytest.approx(float(up - down) / 2e-6, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("fused", [False, True])
def test_trainable_swish_beta_learns_beta_and_survives_beta_zero(fused: bool) -> None:
    cand = Candidate(X * sigmoid(BETA * X), {"beta": Param(1.3, True)})
    module = CompiledActivation(cand, torch.float64, fused=fused)
    x = torch.linspace(-5, 5, 41, dtype=torch.float64)
    beta = module.p_beta
    y = module(x)
    torch.testing.assert_close(y, x * torch.sigmoid(beta * x))
    (grad,) = torch.autograd.grad(y.sum(), beta)
    b = beta.detach()
    want = (x**2 * torch.sigmoid(b * x) * (1 - torch.sigmoid(b * x))).sum()
    torch.testing.assert_close(grad, want)
    # beta = 0: x * sigmoid(0) = x/2, not 0/0.
    with torch.no_grad():
        beta.zero_()
    torch.testing.assert_close(module(x), x / 2)
    # Frozen: no gradient for beta, the same values.
    beta.requires_grad_(False)
    with torch.no_grad():
        beta.fill_(1.3)
    xg = x.clone().requires_grad_()
    module(xg).sum().backward()
    assert beta.grad is None and xg.grad is not None


def test_folding_fixed_parameters_makes_a_fixed_swish_one_silu() -> None:
    cand = build({"family": "swish", "beta": 1.0})
    folded = CompiledActivation(cand, fold=True)
    assert [ins.kernel.template for ins in folded.program.instrs] == [
        "torch.nn.functional.silu({0})"
    ]
    assert "p_beta" in folded.state_dict()
    x = torch.randn(100)
    torch.testing.assert_close(folded(x), torch.nn.functional.silu(x))
    assert math.isclose(folded.param_values()["beta"], 1.0)


def _exported(config: dict, name: str, folder: Any) -> Any:
    import importlib.util

    path = folder / f"{name}.py"
    path.write_text(render_module(build(config), name))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)


@pytest.mark.parametrize(
    ("config", "backward"),
    [
        ({"family": "swish"}, "SiluBackward0"),
        ({"family": "gelu"}, "GeluBackward0"),
        ({"family": "elu"}, "EluBackward0"),
        ({"family": "mish"}, "MishBackward0"),
        ({"family": "softplus"}, "SoftplusBackward0"),
    ],
)
def test_exported_module_at_its_fixed_values_is_the_native_op(
    config: dict, backward: str, tmp_path: Any
) -> None:
    cls = _exported(config, "Exported", tmp_path)
    x = torch.randn(50, requires_grad=True)
    act = cls()
    assert type(act(x).grad_fn).__name__ == backward
    # Trainable, or another value: the autograd.Function with the SymPy-derived backward.
    if cls().state_dict():
        trained = cls(trainable=True)
        assert type(trained(x).grad_fn).__name__ != backward
        torch.testing.assert_close(trained(x), act(x))
        other = {k: v + 0.5 for k, v in act.state_dict().items()}
        act.load_state_dict(other)
        assert type(act(x).grad_fn).__name__ != backward
        act.load_state_dict(cls().state_dict())
        assert type(act(x).grad_fn).__name__ == backward
