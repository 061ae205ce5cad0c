"""Contract tests run over every registered family (a new family is tested automatically)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch

from afsearch.activations import build, get_family, list_families
from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError
from afsearch.expr import X, symbol
from tests.activations.conftest import CONFIGS

IDS = [name for name, _ in CONFIGS]
POINTS = [-4.7, -2.31, -1.3, -0.77, -0.21, 0.13, 0.58, 1.07, 1.9, 2.6, 3.9]


def sympy_values(cand, points):  # type: ignore[no-untyped-def]
    expr = cand.substituted()
    return np.array([float(expr.xreplace({X: sympy.Float(p)}).evalf(30)) for p in points])


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=IDS)
def test_sympy_and_torch_agree_in_float64(name, config):  # type: ignore[no-untyped-def]
    cand = build(config)
    module = CompiledActivation(cand, torch.float64)
    got = module(torch.tensor(POINTS, dtype=torch.float64)).detach().numpy()
    want = sympy_values(cand, POINTS)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=IDS)
def test_gradcheck(name, config):  # type: ignore[no-untyped-def]
    cand = build(config)
    module = CompiledActivation(cand, torch.float64)
    # Points away from kinks (0, hinges at +-1) so finite differences are meaningful.
    x = torch.tensor(
        [-2.37, -1.41, -0.57, 0.33, 0.71, 1.63, 2.21], dtype=torch.float64, requires_grad=True
    )
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=IDS)
def test_gradient_step_moves_every_trainable_parameter(name, config):  # type: ignore[no-untyped-def]
    cand = build(config)
    module = CompiledActivation(cand)
    params = dict(module.named_parameters())
    assert len(params) == len(cand.trainable)
    if not params:
        pytest.skip("no trainable parameters")
    before = {k: v.detach().clone() for k, v in params.items()}
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, generator=g) * 2
    target = torch.sin(x)
    opt = torch.optim.SGD(module.parameters(), lr=1e-2)
    loss = ((module(x) - target) ** 2).mean()
    loss.backward()
    opt.step()
    for k, v in params.items():
        assert not torch.equal(v.detach(), before[k]), f"{k} did not move"


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=IDS)
def test_singular_points_stay_finite(name, config):  # type: ignore[no-untyped-def]
    cand = build(config)
    module = CompiledActivation(cand)
    x = torch.tensor(
        [0.0, 1e-12, -1e-12, 1e-30, 1.0, -1.0, 30.0, -30.0, 80.0, -80.0], requires_grad=True
    )
    if name.startswith("grammar-unary-") and name.split("-")[-1] in ("cube", "exp", "sinh", "cosh"):
        x = torch.tensor([0.0, 1e-12, -1e-12, 1.0, -1.0, 30.0, -30.0], requires_grad=True)
    y = module(x)
    assert torch.isfinite(y).all(), y
    y.sum().backward()
    assert torch.isfinite(x.grad).all(), x.grad


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=IDS)
def test_module_returns_its_expression_with_current_values(name, config):  # type: ignore[no-untyped-def]
    cand = build(config)
    module = CompiledActivation(cand, torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.125)
    expr = module.sympy()
    assert expr.free_symbols <= {X}
    x = torch.tensor(POINTS, dtype=torch.float64)
    want = np.array([float(expr.xreplace({X: sympy.Float(p)}).evalf(30)) for p in POINTS])
    np.testing.assert_allclose(module(x).detach().numpy(), want, rtol=1e-9, atol=1e-9)
    assert module.to_candidate().values == pytest.approx(module.param_values())


def test_every_family_describes_itself():
    for fam in list_families():
        d = fam.describe()
        assert d["name"] == fam.name and d["formula"]


def test_swish_is_silu_and_gelu_is_gelu():
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    pairs = [
        ({"family": "swish"}, torch.nn.functional.silu),
        ({"family": "gelu"}, torch.nn.functional.gelu),
        ({"family": "elu"}, torch.nn.functional.elu),
        ({"family": "selu"}, torch.nn.functional.selu),
        ({"family": "mish"}, torch.nn.functional.mish),
        ({"family": "softplus"}, torch.nn.functional.softplus),
        ({"family": "prelu", "a": 0.25}, lambda t: torch.nn.functional.leaky_relu(t, 0.25)),
    ]
    for config, ref in pairs:
        got = CompiledActivation(build(config), torch.float64)(x)
        torch.testing.assert_close(got, ref(x), rtol=1e-10, atol=1e-12)


def test_slaf_fit_approximates_its_target():
    for basis in ("power", "chebyshev", "legendre", "fourier", "rbf"):
        cand = build({"family": "slaf", "basis": basis, "degree": 8, "init": "gelu"})
        x = torch.linspace(-3, 3, 201, dtype=torch.float64)
        with torch.no_grad():
            err = (
                (CompiledActivation(cand, torch.float64)(x) - torch.nn.functional.gelu(x))
                .abs()
                .max()
            )
        assert err < 0.05, (basis, float(err))


def test_slaf_series_match_numpy_polynomials():
    coeffs = [0.3, -1.2, 0.7, 0.25, -0.4, 0.11]
    u = np.linspace(-1.3, 1.3, 57)
    for basis, ref in (
        ("power", np.polynomial.polynomial.polyval),
        ("chebyshev", np.polynomial.chebyshev.chebval),
        ("legendre", np.polynomial.legendre.legval),
    ):
        cand = build(
            {
                "family": "slaf",
                "basis": basis,
                "degree": 5,
                "normalize": "none",
                "coefficients": coeffs,
            }
        )
        got = CompiledActivation(cand, torch.float64)(torch.from_numpy(u)).detach().numpy()
        np.testing.assert_allclose(got, ref(u, coeffs), rtol=1e-12, atol=1e-12)


def test_rational_denominator_is_safe_and_fit_is_close():
    cand = build({"family": "rational", "init": "leaky_relu"})
    x = torch.linspace(-3, 3, 301, dtype=torch.float64)
    ref = torch.nn.functional.leaky_relu(x, 0.01)
    assert (CompiledActivation(cand, torch.float64)(x) - ref).abs().max() < 0.1


def test_ensemble_prefixes_member_parameters():
    cand = build({"family": "ensemble", "members": [{"family": "swish"}, {"family": "elu"}]})
    assert set(cand.params) == {"m0_beta", "m1_alpha", "w0", "w1"}
    assert cand.params["w0"].trainable and not cand.params["m0_beta"].trainable


def test_grammar_betas_are_separate_parameters():
    cand = build(
        {"family": "grammar", "unit": {"binary": "interp", "left": "scale", "right": "shift"}}
    )
    assert set(cand.params) == {"beta0", "beta1", "beta2"}
    assert symbol("beta0") in cand.expr.free_symbols


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"family": "nope"}, "Unknown family 'nope'; valid families are"),
        ({"family": "slaf", "basis": "hermite"}, "Unknown SLAF basis 'hermite'"),
        ({"family": "slaf", "degree": 40}, "must be an integer from 1 to 16"),
        ({"family": "slaf", "degree": "3"}, "must be an integer from 1 to 16"),
        ({"family": "slaf", "init": "foo"}, "'init' must name an activation"),
        ({"family": "slaf", "coefficients": [1, 2]}, "needs 5 coefficients"),
        ({"family": "swish", "beta": "abc"}, "must be a number, got 'abc'"),
        ({"family": "swish", "beta": 1e9}, "must lie in"),
        ({"family": "swish", "gamma": 1}, "has no setting 'gamma'"),
        ({"family": "swish", "trainable": ["gamma"]}, "has no parameter 'gamma'"),
        (
            {"family": "grammar", "unit": {"binary": "pow", "left": "x", "right": "x"}},
            "Unknown binary operator 'pow'",
        ),
        (
            {"family": "grammar", "unit": {"binary": "add", "left": "foo", "right": "x"}},
            "Unknown unary operator 'foo'",
        ),
        ({"family": "ensemble", "members": []}, "must list 1 to 8 member configs"),
        ({"family": "taaf", "base": "zzz"}, "unknown activation 'zzz'"),
        ({"family": "rational", "m": 30}, "must be an integer 0..12"),
        ({"family": "expression", "expression": "__import__('os')"}, "refused"),
    ],
)
def test_bad_configs_give_one_clear_sentence(config, fragment):  # type: ignore[no-untyped-def]
    with pytest.raises(AfsearchError) as info:
        build(config)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_get_family_unknown_lists_valid():
    with pytest.raises(AfsearchError, match="valid families are .*'swish'"):
        get_family("swishh")


def test_constants_fold_and_do_not_become_nan():
    cand = build({"family": "expression", "expression": "x*exp(2)/sqrt(pi)"})
    x = torch.tensor([1.0], dtype=torch.float64)
    assert float(CompiledActivation(cand, torch.float64)(x)) == pytest.approx(
        math.exp(2) / math.sqrt(math.pi)
    )


@pytest.mark.parametrize("basis", ["power", "chebyshev", "legendre"])
def test_slaf_polynomials_continue_linearly_outside_their_interval(basis: str) -> None:
    def module(tail: str) -> CompiledActivation:
        config = {"family": "slaf", "basis": basis, "degree": 8, "init": "gelu", "tail": tail}
        return CompiledActivation(build(config), torch.float64)

    x = torch.linspace(-10, 10, 201, dtype=torch.float64, requires_grad=True)
    bare, tailed = module("none"), module("linear")
    y = tailed(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    inside = x.detach().abs() <= 3.0
    torch.testing.assert_close(y[inside], bare(x)[inside])
    # Outside: a straight line, its slope the polynomial's slope at the edge.
    assert float(bare(torch.tensor([10.0], dtype=torch.float64))) < -1000
    assert abs(float(y[-1]) - 10.0) < 1.0  # GELU(10) = 10
    right = x.detach() > 3.0
    assert torch.allclose(dy[right], dy[right][0].expand_as(dy[right]))
    # The first derivative is continuous at the edge.
    edge = torch.tensor([3.0 - 1e-6, 3.0 + 1e-6], dtype=torch.float64, requires_grad=True)
    (d_edge,) = torch.autograd.grad(tailed(edge).sum(), edge)
    assert abs(float(d_edge[0] - d_edge[1])) < 1e-4


def test_slaf_tail_is_checked() -> None:
    with pytest.raises(AfsearchError, match="'tail' must be 'linear' or 'none'"):
        build({"family": "slaf", "tail": "cubic"})
