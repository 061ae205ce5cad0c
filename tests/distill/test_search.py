"""The distiller on curves whose formula is known: it finds it, the same way every time, and
keeps a front that nothing dominates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import erf, expit

from afsearch.distill import Formula, distill
from afsearch.exceptions import AfsearchError

X = np.linspace(-3.0, 3.0, 300)
#: A few operators, for the tests of the search's rules (the whole library is slower).
FEW = ["x", "relu", "tanh", "sin", "sigmoid", "exp", "softplus"]
RATIONAL = (X + 0.3 * X**2) / (1 + np.abs(0.5 * X + 0.1 * X**3))


def _gelu(u: np.ndarray) -> np.ndarray:
    return 0.5 * u * (1.0 + erf(u / math.sqrt(2.0)))


#: A curve, the operator that must make it, and a formula that is not it (each must fail).
KNOWN = {
    "tanh": (np.tanh(X), "tanh"),
    "sin": (np.sin(1.3 * X - 0.4), "sin"),
    "swish": (X * expit(1.7 * X), "silu"),
    "gelu": (0.5 * _gelu(2.0 * X) + 0.1, "gelu"),
    "softplus": (2.5 * np.logaddexp(0.0, 1.5 * X) - 0.3, "softplus"),
}


def best(formulas: list[Formula]) -> Formula:
    return max(formulas, key=lambda f: f.r2)


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_a_known_curve_is_recovered_with_its_operator_at_the_front(name: str) -> None:
    y, op = KNOWN[name]
    formulas = distill(X, y)
    top = best(formulas)
    assert top.r2 >= 0.999
    # The simplest formula that fits is the known one, with two nodes: the operator and x.
    simplest = next(f for f in formulas if f.r2 >= 0.999)
    assert simplest.operators == (op,) and simplest.nodes == 2, simplest
    # Its text is read back by the allow-list parser and computes the curve.
    np.testing.assert_allclose(simplest.values(X), y, atol=2e-3 * np.ptp(y))


def test_the_printed_scalars_are_short_and_exact_where_the_curve_is() -> None:
    texts = {name: best(distill(X, y)).text for name, (y, _) in KNOWN.items()}
    assert texts["tanh"] == "tanh(x)"
    assert texts["gelu"] == "0.5*gelu(2.0*x) + 0.1"
    assert texts["softplus"] == "2.5*softplus(1.5*x) - 0.3"
    assert texts["sin"] == "sin(1.3*x - 0.4)"


def test_a_curve_no_single_operator_makes_needs_two() -> None:
    y = np.tanh(2.0 * X) + 0.3 * np.sin(3.0 * X)
    formulas = distill(X, y, ops=FEW, width=3)
    top = best(formulas)
    assert top.r2 > 0.9999 and top.operators == ("add", "tanh", "sin"), top
    assert max(f.r2 for f in formulas if f.nodes == 2) < 0.99


@pytest.mark.slow
def test_the_same_arguments_give_the_same_formulas() -> None:
    first = distill(X, RATIONAL, seed=3, ops=FEW)
    again = distill(X, RATIONAL, seed=3, ops=FEW)
    assert [(f.text, f.r2) for f in first] == [(f.text, f.r2) for f in again]
    assert len(first) >= 3


def test_the_front_is_non_dominated_and_ordered() -> None:
    formulas = distill(X, RATIONAL, top=10, ops=FEW, width=3)
    assert len(formulas) >= 3
    assert [f.nodes for f in formulas] == sorted({f.nodes for f in formulas})
    for f in formulas:
        for g in formulas:
            if g is not f:
                assert not (g.nodes <= f.nodes and g.r2 >= f.r2), (f, g)


@pytest.mark.slow
def test_max_nodes_and_top_limit_the_front() -> None:
    everything = distill(X, RATIONAL, ops=FEW, top=10)
    assert max(f.nodes for f in everything) > 2
    assert [f.nodes for f in distill(X, RATIONAL, max_nodes=2, ops=FEW)] == [1, 2]
    assert [f.nodes for f in distill(X, RATIONAL, max_nodes=1, ops=FEW)] == [1]
    one = distill(X, RATIONAL, top=1, ops=FEW)
    assert [f.r2 for f in one] == [max(f.r2 for f in everything)]


def test_weights_decide_where_the_formula_must_fit() -> None:
    # relu on the left half, a line of slope 3 on the right: a weight on one half only makes
    # that half's one-operator formula exact.
    y = np.where(X < 0, 0.0, 3.0 * X)
    left = X < -0.5
    formulas = distill(X, y * left + np.sin(X) * ~left, np.where(left, 0.0, 1.0))
    assert best(formulas).operators == ("sin",) and best(formulas).r2 > 0.999999


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((X, X[:-1]), {}, "one value per point"),
        ((X[:5], X[:5]), {}, "at least 8 points"),
        ((X, np.where(X > 0, np.nan, X)), {}, "NaN or infinity"),
        ((X, X, -np.ones_like(X)), {}, "weights must be at least 0"),
        ((X, np.full_like(X, 2.0)), {}, "constant (2)"),
        ((X, X), {"max_nodes": 0}, "max_nodes must be an integer of at least 1, got 0."),
        ((X, X), {"top": True}, "top must be an integer"),
        ((X, X), {"ops": ["tanh", "wobble"]}, "'wobble', which is not a distill operator"),
        ((X, X), {"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_bad_arguments_are_one_sentence(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(AfsearchError, match=None) as info:
        distill(*args, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)
