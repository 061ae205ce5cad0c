"""Evaluating an expression of this package's vocabulary on a NumPy array, without torch.

:func:`evaluate` walks the SymPy tree and applies a NumPy kernel per node from an allow-list
(nothing is generated or executed as code). It serves work that needs a function's values
before any network exists, such as fitting SLAF and rational coefficients to a standard
activation while a space is read, so that reading a space loads no torch. Training and export
use the compiler, which gives the same values in float64 (``tests/expr/test_numeric.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sympy

from afsearch.exceptions import AfsearchError
from afsearch.expr._functions import sigmoid, softplus

if TYPE_CHECKING:
    import numpy as np


def _erf(u: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.vectorize(math.erf, otypes=[np.float64])(u)


def _sigmoid(u: np.ndarray) -> np.ndarray:
    import numpy as np

    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _softplus(u: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.maximum(u, 0.0) + np.log1p(np.exp(-np.abs(u)))


def _unary() -> dict[type, Callable[[np.ndarray], np.ndarray]]:
    import numpy as np

    return {
        sympy.exp: np.exp,
        sympy.log: np.log,
        sympy.tanh: np.tanh,
        sympy.sin: np.sin,
        sympy.cos: np.cos,
        sympy.Abs: np.abs,
        sympy.erf: _erf,
        sigmoid: _sigmoid,
        softplus: _softplus,
    }


_COMPARE: dict[type, str] = {
    sympy.StrictGreaterThan: "greater",
    sympy.GreaterThan: "greater_equal",
    sympy.StrictLessThan: "less",
    sympy.LessThan: "less_equal",
}


def evaluate(expr: Any, symbol: sympy.Symbol, x: np.ndarray) -> np.ndarray:
    """``expr`` as a function of ``symbol`` at the float64 points ``x``; an expression with a
    node outside the allow-list is refused with :class:`AfsearchError`."""
    import numpy as np

    unary = _unary()

    def walk(e: Any) -> Any:
        if e == symbol:
            return x
        if e.is_Number:
            return float(e)
        if e is sympy.true:
            return np.ones_like(x, dtype=bool)
        if e.is_Add:
            return sum((walk(a) for a in e.args), np.zeros_like(x))
        if e.is_Mul:
            out = np.ones_like(x)
            for a in e.args:
                out = out * walk(a)
            return out
        if e.is_Pow:
            return np.power(walk(e.base), walk(e.exp))
        if isinstance(e, (sympy.Max, sympy.Min)):
            pick = np.maximum if isinstance(e, sympy.Max) else np.minimum
            values = [np.broadcast_to(walk(a), x.shape) for a in e.args]
            out = values[0]
            for v in values[1:]:
                out = pick(out, v)
            return out
        if isinstance(e, sympy.Piecewise):
            conds = [np.broadcast_to(walk(c), x.shape) for _, c in e.args]
            values = [np.broadcast_to(walk(v), x.shape) for v, _ in e.args]
            return np.select(conds, values, default=np.nan)
        if type(e) in _COMPARE:
            return getattr(np, _COMPARE[type(e)])(walk(e.lhs), walk(e.rhs))
        if type(e) in unary and len(e.args) == 1:
            return unary[type(e)](np.asarray(walk(e.args[0]), dtype=np.float64))
        raise AfsearchError(f"{type(e).__name__} cannot be evaluated without torch.")

    return np.broadcast_to(np.asarray(walk(expr), dtype=np.float64), x.shape).copy()
