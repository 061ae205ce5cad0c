"""The allow-list parser refuses everything that is not a plain numeric expression."""

from __future__ import annotations

import time

import pytest
import sympy

from afsearch.exceptions import UnsafeExpressionError
from afsearch.expr import X, parse_expression, sigmoid

HOSTILE = [
    "__import__('os').system('echo pwned')",
    "x.__class__",
    "x.__class__.__mro__[1].__subclasses__()",
    "().__class__.__bases__[0]",
    "exp.__globals__",
    "(lambda: 1)()",
    "[c for c in ().__class__.__bases__]",
    "open('/etc/passwd').read()",
    "eval('1+1')",
    "exec('import os')",
    "getattr(x, '__class__')",
    "globals()",
    "__builtins__",
    "x if x else 1",
    "x[0]",
    "{'a': 1}",
    "'string'",
    "b'bytes'",
    "x**9**9**9",
    "9**9**9",
    "2**10000",
    "x; import os",
    "import os",
    "x := 1",
    "f'{x}'",
    "sympy.exp(x)",
    "Symbol('y')",
    "S('x')",
    "exp(x, y=1)",
    "x" * 5000,
    "(" * 1000 + "x" + ")" * 1000,
    "+".join(["x"] * 2000),
    "_private",
    "Piecewise(x)",
    "1e400*x",
    "(-8)**(1/3)",
    "",
    "   ",
    "x @ x",
    "x < 0 < 1",
    "~x",
    "not x",
    "x and 1",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_are_refused_quickly(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(UnsafeExpressionError) as info:
        parse_expression(text)
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert "refused" in message or "must be a string" in message
    assert "\n" not in message


def test_non_strings_are_refused() -> None:
    with pytest.raises(UnsafeExpressionError, match="must be a string"):
        parse_expression(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x*sigmoid(beta*x)", X * sigmoid(sympy.Symbol("beta", real=True) * X)),
        ("max(x, 0)", sympy.Max(X, 0)),
        ("relu(x)", sympy.Max(X, 0)),
        ("x / (1 + exp(-x))", X / (1 + sympy.exp(-X))),
        (
            "Piecewise((x, x > 0), (exp(x) - 1, True))",
            sympy.Piecewise((X, X > 0), (sympy.exp(X) - 1, True)),
        ),
        ("-x**2 + 3*pi", -(X**2) + 3 * sympy.pi),
        ("x**0.5", X**0.5),
    ],
)
def test_allowed_expressions_parse(text: str, expected: object) -> None:
    assert parse_expression(text) == expected


def test_parameter_names_can_be_restricted() -> None:
    assert parse_expression("a*x", params=["a"]) == sympy.Symbol("a", real=True) * X
    with pytest.raises(UnsafeExpressionError, match="neither x nor a parameter"):
        parse_expression("b*x", params=["a"])


def test_printed_expressions_round_trip() -> None:
    from afsearch.activations import build
    from tests.activations.conftest import CONFIGS

    for _, config in CONFIGS:
        cand = build(config)
        again = parse_expression(cand.text, params=cand.params)
        assert again == cand.expr, cand.text
