"""Every distill operator, under every shape, prints text that the allow-list parser reads and
the compiler computes as the distiller's NumPy kernel does (float64), and the operators are
the grammar's unary ones or standard activations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from afsearch.activations._grammar import UNARY
from afsearch.compiler import CompiledActivation
from afsearch.distill import PRIMITIVES, Primitive, register_primitive
from afsearch.distill._fit import evaluate
from afsearch.distill._library import factor, number
from afsearch.distill._structures import ADD, COMPOSE, MUL, UNIT, Shape
from afsearch.exceptions import AfsearchError
from afsearch.expr import KNOWN, Candidate, parse_expression

X = np.linspace(-2.5, 2.5, 101)
SCALARS = {0: (), 1: (0.7,), 2: (1.3, -0.4)}


def compiled(text: str, x: np.ndarray) -> np.ndarray:
    act = CompiledActivation(Candidate(parse_expression(text, params=())), torch.float64)
    with torch.no_grad():
        return act(torch.from_numpy(x)).numpy()


def test_every_operator_is_the_grammars_or_a_standard_activation() -> None:
    assert set(PRIMITIVES) <= set(UNARY) | set(KNOWN) | {"x"}
    assert {"tanh", "sin", "cos", "exp", "log", "sqrt", "erf", "sigmoid", "softplus"} <= set(
        PRIMITIVES
    )


@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_an_operator_prints_what_its_kernel_computes(name: str) -> None:
    p = PRIMITIVES[name]
    theta = SCALARS[p.width]
    for outer in ((1.0, 0.0), (-0.8, 0.25)):
        shape = Shape(UNIT, (p,))
        text = shape.text(theta, outer, 17)
        np.testing.assert_allclose(
            compiled(text, X), evaluate(shape, theta, outer, X), rtol=1e-9, atol=1e-9
        )


@pytest.mark.parametrize("kind", [ADD, MUL, COMPOSE])
@pytest.mark.parametrize(
    "pair", [("x", "tanh"), ("square", "sin"), ("gauss", "abs"), ("exp", "sigmoid")]
)
def test_a_pair_prints_what_it_computes(kind: str, pair: tuple[str, str]) -> None:
    f, g = (PRIMITIVES[n] for n in pair)
    if kind == COMPOSE and f.name == "x":
        f = PRIMITIVES["softplus"]
    shape = Shape(kind, (f, g))
    theta = SCALARS[f.width] + SCALARS[g.width][::-1]
    outer = (0.5, -1.5, 0.1) if kind == ADD else (-1.5, 0.1)
    text = shape.text(theta, outer, 17)
    np.testing.assert_allclose(
        compiled(text, X), evaluate(shape, theta, outer, X), rtol=1e-9, atol=1e-9
    )


def test_nodes_count_operators_and_leaves_not_scalars() -> None:
    x, tanh, sig = PRIMITIVES["x"], PRIMITIVES["tanh"], PRIMITIVES["sigmoid"]
    assert Shape(UNIT, (x,)).nodes == 1
    assert Shape(UNIT, (tanh,)).nodes == 2
    assert Shape(COMPOSE, (tanh, sig)).nodes == 3
    assert Shape(MUL, (x, sig)).nodes == 4
    assert Shape(ADD, (tanh, sig)).nodes == 5


def test_text_drops_unit_factors_and_zero_terms() -> None:
    tanh, x = PRIMITIVES["tanh"], PRIMITIVES["x"]
    assert Shape(UNIT, (tanh,)).text((1.0, 0.0), (1.0, 0.0), 4) == "tanh(x)"
    assert Shape(UNIT, (tanh,)).text((-1.0, 0.5), (-2.0, -0.1), 4) == "-2.0*tanh(-x + 0.5) - 0.1"
    assert Shape(MUL, (x, tanh)).text((2.0, 0.0), (-1.0, 0.0), 4) == "-x*tanh(2.0*x)"
    assert Shape(ADD, (x, tanh)).text((1.0, 0.0), (1.0, -1.0, 0.0), 4) == "x - tanh(x)"
    # Positive terms first: a formula that starts with a minus reads as an option in a shell.
    assert Shape(UNIT, (tanh,)).text((1.0, 0.0), (-0.5, 0.3), 4) == "0.3 - 0.5*tanh(x)"
    assert Shape(ADD, (x, tanh)).text((1.0, 0.0), (-1.0, 2.0, 0.0), 4) == "2.0*tanh(x) - x"
    assert number(3.0, 3) == "3.0" and number(1.23456e-7, 3) == "1.23e-07"
    assert (
        factor("x + 1") == "(x + 1)"
        and factor("-x") == "(-x)"
        and factor("a*tanh(x - 1)") == ("a*tanh(x - 1)")
    )


def test_a_name_taken_is_refused() -> None:
    with pytest.raises(AfsearchError, match="'tanh' is already registered"):
        register_primitive(Primitive("tanh", np.tanh, lambda s: f"tanh({s})"))
