"""Safe parsing of expression strings.

Strings from YAML, the command line or a database row never reach ``eval``, ``exec``,
``sympify`` or ``parse_expr`` (all of which evaluate Python). Instead the string is parsed into a
Python ``ast`` (which evaluates nothing), every node is checked against an allow-list, and the
SymPy expression is built from the checked tree by hand.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable
from typing import Any

import sympy

from afsearch.exceptions import UnsafeExpressionError
from afsearch.expr._functions import (
    chebyshev_series,
    legendre_series,
    power_series,
    sigmoid,
    softplus,
)
from afsearch.expr._known import KNOWN
from afsearch.expr._symbols import X, symbol

MAX_LENGTH = 4000
MAX_NODES = 1500
MAX_DEPTH = 60
MAX_CONSTANT_EXPONENT = 64
MAX_INTEGER = 10**12


#: Functions an expression may call, by the name it calls them.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "asinh": sympy.asinh,
    "atan": sympy.atan,
    "erf": sympy.erf,
    "Abs": sympy.Abs,
    "abs": sympy.Abs,
    "sign": sympy.sign,
    "sinc": sympy.sinc,
    "Heaviside": sympy.Heaviside,
    "Max": sympy.Max,
    "max": sympy.Max,
    "Min": sympy.Min,
    "min": sympy.Min,
    "Piecewise": sympy.Piecewise,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "power_series": power_series,
    "chebyshev_series": chebyshev_series,
    "legendre_series": legendre_series,
    "relu": KNOWN["relu"],
    "gelu": KNOWN["gelu"],
    "silu": KNOWN["silu"],
    "swish": KNOWN["silu"],
    "mish": KNOWN["mish"],
}
CONSTANTS: dict[str, Any] = {"pi": sympy.pi, "E": sympy.E, "True": sympy.true}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Gt: sympy.StrictGreaterThan,
    ast.GtE: sympy.GreaterThan,
    ast.Lt: sympy.StrictLessThan,
    ast.LtE: sympy.LessThan,
}

ALLOWED = (
    "numbers, the input x, parameter names, + - * / **, comparisons inside Piecewise, and the "
    "functions " + ", ".join(sorted(FUNCTIONS))
)


def _refuse(text: str, why: str) -> UnsafeExpressionError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return UnsafeExpressionError(
        f"The expression {shown!r} was refused: {why}. Allowed: {ALLOWED}."
    )


class _Builder:
    def __init__(self, text: str, params: Iterable[str] | None) -> None:
        self.text = text
        self.params = None if params is None else set(params)

    def refuse(self, why: str) -> UnsafeExpressionError:
        return _refuse(self.text, why)

    def build(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.refuse(f"it nests deeper than {MAX_DEPTH} levels")
        d = depth + 1
        if isinstance(node, ast.Expression):
            return self.build(node.body, d)
        if isinstance(node, ast.Constant):
            return self.constant(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand, d)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self.power(self.build(node.left, d), self.build(node.right, d))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](self.build(node.left, d), self.build(node.right, d))
        if isinstance(node, ast.Call):
            return self.call(node, d)
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
                raise self.refuse("only single comparisons with <, <=, > or >= are allowed")
            lhs, rhs = self.build(node.left, d), self.build(node.comparators[0], d)
            return _COMPARE[type(node.ops[0])](lhs, rhs)
        if isinstance(node, ast.Tuple):
            return tuple(self.build(e, d) for e in node.elts)
        if isinstance(node, ast.Attribute):
            raise self.refuse("attribute access is not allowed")
        raise self.refuse(f"{type(node).__name__} is not allowed")

    def constant(self, value: Any) -> Any:
        if isinstance(value, bool):
            return sympy.true if value else sympy.false
        if isinstance(value, int):
            if abs(value) > MAX_INTEGER:
                raise self.refuse(f"integers are limited to {MAX_INTEGER:.0e}")
            return sympy.Integer(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.refuse("constants must be finite")
            return sympy.Float(value)
        raise self.refuse(f"the constant {value!r} is not a number")

    def name(self, name: str) -> Any:
        if name.startswith("_"):
            raise self.refuse(f"the name {name!r} starts with an underscore")
        if name == "x":
            return X
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise self.refuse(f"the function {name!r} must be called")
        if self.params is not None and name not in self.params:
            known = ", ".join(sorted(self.params)) or "none"
            raise self.refuse(f"the name {name!r} is neither x nor a parameter ({known})")
        try:
            return symbol(name)
        except Exception:
            raise self.refuse(f"the name {name!r} is not a valid parameter name") from None

    def power(self, base: Any, exp: Any) -> Any:
        if isinstance(exp, sympy.Number) and abs(exp) > MAX_CONSTANT_EXPONENT:
            raise self.refuse(f"constant exponents are limited to {MAX_CONSTANT_EXPONENT}")
        if isinstance(base, sympy.Number) and isinstance(exp, sympy.Number) and abs(base) > 10**6:
            raise self.refuse("a constant raised to a constant power must have a base up to 1e6")
        return base**exp

    def call(self, node: ast.Call, depth: int) -> Any:
        if not isinstance(node.func, ast.Name):
            raise self.refuse("only plain function names may be called")
        fname = node.func.id
        if fname not in FUNCTIONS:
            raise self.refuse(f"the function {fname!r} is not allowed")
        if node.keywords:
            raise self.refuse("keyword arguments are not allowed")
        args = [self.build(a, depth) for a in node.args]
        if fname == "Piecewise":
            if not args or not all(isinstance(a, tuple) and len(a) == 2 for a in args):
                raise self.refuse("Piecewise takes (expression, condition) pairs")
        elif any(isinstance(a, tuple) for a in args):
            raise self.refuse("tuples are only allowed as Piecewise branches")
        try:
            return FUNCTIONS[fname](*args)
        except (TypeError, ValueError) as exc:
            raise self.refuse(f"{fname} cannot take these arguments ({exc})") from None


def parse_expression(text: Any, params: Iterable[str] | None = None) -> Any:
    """Parse ``text`` into a SymPy expression in ``x``, refusing anything not allow-listed.

    ``params`` limits the names that may appear besides ``x``; ``None`` allows any valid name.

    >>> parse_expression("x*sigmoid(beta*x)")
    x*sigmoid(beta*x)
    """
    if not isinstance(text, str):
        raise UnsafeExpressionError(f"An expression must be a string, got {type(text).__name__}.")
    if len(text) > MAX_LENGTH:
        raise _refuse(text, f"it is longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise _refuse(text, "it is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _refuse(text, f"it is not a valid expression ({exc.msg})") from None
    except (RecursionError, MemoryError, ValueError):
        raise _refuse(text, "it could not be parsed") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise _refuse(text, f"it has more than {MAX_NODES} syntax nodes")
    builder = _Builder(text, params)
    try:
        expr = builder.build(tree)
    except RecursionError:
        raise _refuse(text, "it nests too deeply") from None
    if isinstance(expr, tuple) or not isinstance(expr, sympy.Expr):
        raise _refuse(text, "it is not a numeric expression")
    if expr.has(sympy.I, sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or any(
        sub.is_number and sub.is_real is False for sub in sympy.preorder_traversal(expr)
    ):
        raise _refuse(text, "it is not finite and real-valued")
    return expr
