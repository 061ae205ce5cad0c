"""afsearch.expr.evaluate: an expression's values in NumPy, the compiler's values in float64."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError
from afsearch.expr import KNOWN, Candidate, X, evaluate, known, parse_expression

XS = np.linspace(-12.0, 12.0, 2401)


def _compiled(expr: sympy.Expr) -> np.ndarray:
    module = CompiledActivation(Candidate(expr, {}, "t"), dtype=torch.float64)
    with torch.no_grad():
        return module(torch.from_numpy(XS)).numpy()


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_every_standard_activation_matches_the_compiler(name: str) -> None:
    got = evaluate(known(name, X), X, XS)
    assert got.dtype == np.float64 and got.shape == XS.shape
    np.testing.assert_allclose(got, _compiled(known(name, X)), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "text",
    ["x*sigmoid(2*x) + 0.5", "max(x, 0) - min(x, 0)**2", "abs(x)*cos(x)", "log(1 + x**2)", "3"],
)
def test_compositions_match_the_compiler(text: str) -> None:
    expr = parse_expression(text)
    np.testing.assert_allclose(evaluate(expr, X, XS), _compiled(expr), rtol=1e-12, atol=1e-14)


def test_piecewise_takes_the_first_true_branch() -> None:
    expr = sympy.Piecewise((X, X > 0), (-2 * X, X > -1), (sympy.Integer(7), True))
    got = evaluate(expr, X, np.array([-3.0, -0.5, 0.0, 2.0]))
    assert got.tolist() == [7.0, 1.0, -0.0, 2.0]


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        (sympy.gamma(X), "gamma cannot be evaluated"),
        (X * sympy.Symbol("beta"), "Symbol cannot be evaluated"),
    ],
)
def test_a_node_outside_the_allow_list_is_refused(expr: sympy.Expr, words: str) -> None:
    with pytest.raises(AfsearchError, match=words):
        evaluate(expr, X, XS)


def test_a_slaf_fit_is_the_fit_to_the_compiled_target() -> None:
    """The coefficients a space's SLAF starts from are those of a fit to the compiler's values."""
    from afsearch.activations import build

    slaf = build({"family": "slaf", "basis": "chebyshev", "degree": 6, "init": "gelu"})
    xs = np.linspace(-3.0, 3.0, 601)
    fitted = CompiledActivation(slaf, dtype=torch.float64)
    with torch.no_grad():
        values = fitted(torch.from_numpy(xs)).numpy()
    # Degree 6 on [-3, 3] fits GELU to about 1e-2; what matters is that the fit saw GELU.
    assert np.abs(values - evaluate(known("gelu", X), X, xs)).max() < 0.05
