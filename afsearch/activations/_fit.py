"""Least-squares initialisation of SLAF and rational coefficients to a named activation.

The target is the standard activation evaluated in float64 by :func:`afsearch.expr.evaluate`
(NumPy, the values the compiler computes to within rounding), so reading a space whose units are
fitted loads no torch; numpy is imported when a fit runs, not when the families are, so listing
families and reading trials never load it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from afsearch.expr import X, evaluate, known

if TYPE_CHECKING:
    import numpy as np

GRID_POINTS = 801


def target_values(name: str, xs: np.ndarray) -> np.ndarray:
    """The standard activation ``name`` at ``xs``, in float64."""
    return evaluate(known(name, X), X, xs)


def fit_linear(
    design: Callable[[np.ndarray], np.ndarray],
    target: str,
    interval: float,
    residual_of_relu: float,
) -> list[float]:
    """Coefficients c minimising ||design(x) c - (f(x) - m*relu(x))|| on [-interval, interval]."""
    import numpy as np

    xs = np.linspace(-interval, interval, GRID_POINTS)
    y = target_values(target, xs) - residual_of_relu * np.maximum(xs, 0.0)
    coef, *_ = np.linalg.lstsq(design(xs), y, rcond=None)
    return [float(c) for c in coef]


@lru_cache(maxsize=256)
def fit_rational(target: str, m: int, n: int, interval: float) -> tuple[list[float], list[float]]:
    """Numerator (m+1) and denominator (n) coefficients of a safe rational fitted to ``target``."""
    import numpy as np
    from scipy.optimize import least_squares

    xs = np.linspace(-interval, interval, GRID_POINTS)
    y = target_values(target, xs)
    a0 = np.polynomial.polynomial.polyfit(xs, y, m)
    powers = np.vander(xs, max(m, n) + 1, increasing=True)

    def residual(theta: np.ndarray) -> np.ndarray:
        a, b = theta[: m + 1], theta[m + 1 :]
        num = powers[:, : m + 1] @ a
        den = 1.0 + np.abs(powers[:, 1 : n + 1] @ b)
        return num / den - y

    theta0 = np.concatenate([a0, np.full(n, 1e-3)])
    result = least_squares(residual, theta0, method="lm", max_nfev=4000)
    theta = result.x if np.isfinite(result.cost) else theta0
    return [float(v) for v in theta[: m + 1]], [float(v) for v in theta[m + 1 :]]
