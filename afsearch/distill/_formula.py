"""A distilled formula: short text that the allow-list parser reads, with its fit.

Its scalars are printed with as few significant digits as keep its R² (and shifts and the
constant that do not matter are dropped), so ``0.5*gelu(2.0*x) + 0.1`` reads as written.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from afsearch.distill._fit import Fit, Points, evaluate, solve
from afsearch.distill._library import AFFINE, SCALE, SHIFT, number
from afsearch.distill._structures import Shape
from afsearch.expr import Candidate, parse_expression

#: Significant digits tried, fewest first, when a formula is printed.
DIGITS = (3, 4, 5, 6, 8, 12, 17)


@dataclass(frozen=True)
class Formula:
    """A formula found by :func:`afsearch.distill.distill`.

    ``text`` is what ``afsearch export-expr`` takes; ``r2`` the weighted R² of the formula as
    printed; ``nodes`` its operators and leaves x (the affine scalars are not counted).

    >>> import numpy as np
    >>> from afsearch.distill import distill
    >>> x = np.linspace(-3, 3, 200)
    >>> best = distill(x, 0.5 * np.tanh(2 * x))[-1]
    >>> best.text, best.nodes, best.r2 > 0.999999
    ('0.5*tanh(2.0*x)', 2, True)
    """

    text: str
    nodes: int
    r2: float
    label: str
    operators: tuple[str, ...]
    shape: Shape = field(repr=False, compare=False)
    theta: tuple[float, ...] = field(repr=False)
    outer: tuple[float, ...] = field(repr=False)

    @functools.cached_property
    def expr(self) -> Any:
        """The SymPy expression, read through the allow-list parser."""
        return parse_expression(self.text, params=())

    @property
    def latex(self) -> str:
        import sympy

        return str(sympy.latex(self.expr))

    def candidate(self) -> Candidate:
        """The formula as an afsearch candidate (no free parameters)."""
        return Candidate(self.expr, {})

    def values(self, x: np.ndarray) -> np.ndarray:
        """The formula at the float64 points ``x``, in NumPy."""
        return evaluate(self.shape, self.theta, self.outer, np.asarray(x, dtype=float))

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.text,
            "nodes": self.nodes,
            "r2": self.r2,
            "shape": self.label,
            "operators": list(self.operators),
            "latex": self.latex,
        }


def _scale_positions(shape: Shape) -> list[tuple[int, int]]:
    """Where in theta each operator's scale (b) is, and how many scalars its map has."""
    out, k = [], 0
    for p in shape.ops:
        if p.inner in (AFFINE, SCALE):
            out.append((k, p.width))
        k += p.width
    return out


def _shift_positions(shape: Shape) -> list[int]:
    """Where in theta the additive shifts (c) are."""
    out, k = [], 0
    for p in shape.ops:
        if p.inner == AFFINE:
            out.append(k + 1)
        elif p.inner == SHIFT:
            out.append(k)
        k += p.width
    return out


def _rounded(values: tuple[float, ...], digits: int) -> tuple[float, ...]:
    return tuple(float(number(v, digits)) for v in values)


def formula_of(fit: Fit, pts: Points) -> Formula:
    """``fit`` printed short: a shift or constant whose removal keeps R² (within a tolerance of
    a thousandth of what is unexplained, at least 1e-7) is dropped, with the outer scalars
    solved again, and the scalars keep the fewest significant digits that keep R²."""
    shape = fit.shape
    tol = max(1e-7, 1e-3 * (1.0 - fit.r2))
    floor = fit.r2 - tol
    theta, outer = list(fit.theta), fit.outer
    # tanh(-x) is -tanh(x): where an odd or even operator lets the scale be positive, it is.
    for i, width in _scale_positions(shape):
        if theta[i] < 0:
            trial = [*theta[:i], *(-v for v in theta[i : i + width]), *theta[i + width :]]
            coef, sse = solve(shape.columns(np.asarray(trial), pts.x), pts)
            if pts.r2(sse) >= floor:
                theta, outer = trial, tuple(float(v) for v in coef)
    for i in _shift_positions(shape):
        trial = [*theta[:i], 0.0, *theta[i + 1 :]]
        coef, sse = solve(shape.columns(np.asarray(trial), pts.x), pts)
        if pts.r2(sse) >= floor:
            theta, outer = trial, tuple(float(v) for v in coef)
    coef, sse = solve(shape.columns(np.asarray(theta), pts.x), pts, constant=False)
    if pts.r2(sse) >= floor:
        outer = tuple(float(v) for v in coef)
    for digits in DIGITS:
        t, o = _rounded(tuple(theta), digits), _rounded(outer, digits)
        residual = (pts.y - evaluate(shape, t, o, pts.x)) * pts.sw
        r2 = pts.r2(float(residual @ residual))
        if r2 >= floor:
            break
    text = shape.text(t, o, digits)
    return Formula(text, shape.nodes, r2, shape.label, shape.operators, shape, t, o)
