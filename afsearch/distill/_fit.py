"""Fitting one shape's scalars to weighted points.

The outer scalars of a shape enter linearly, so they are solved by weighted least squares for
any inner scalars (variable projection, Golub & Pereyra 1973); only the inner ones are searched:
first on a grid (every grid point's linear solve at once, in NumPy), then from the best few grid
points by Levenberg-Marquardt (``scipy.optimize.least_squares(method="lm")``) on the projected
residual.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from afsearch.distill._library import AFFINE, SCALE, SHIFT, Primitive
from afsearch.distill._structures import Shape

#: Grid of scales relative to 1/std of the input, and of centres as quantiles of the input.
_SCALES = np.logspace(-1.0, 1.0, 9)
_CENTRES = (0.1, 0.3, 0.5, 0.7, 0.9)
#: Levenberg-Marquardt runs per shape, from the best distinct starts, and the evaluations
#: each may take per scalar (its numerical Jacobian included): a shape that has not settled by
#: then is a poor one, which its grid start already shows.
STARTS = 3
MAX_NFEV = 40


@dataclass(frozen=True)
class Points:
    """The weighted points a formula is fitted to; ``sw`` is the square root of the weights
    (normalised to sum 1), ``sst`` the weighted sum of squares about the weighted mean."""

    x: np.ndarray
    y: np.ndarray
    sw: np.ndarray
    sst: float

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Points:
        w = w / w.sum()
        mean = float(np.sum(w * y))
        return cls(x, y, np.sqrt(w), float(np.sum(w * (y - mean) ** 2)))

    def r2(self, sse: float) -> float:
        return 1.0 - sse / self.sst


@dataclass(frozen=True)
class Fit:
    """A shape fitted: its inner scalars, outer ones (the constant last), weighted R²."""

    shape: Shape
    theta: tuple[float, ...]
    outer: tuple[float, ...]
    r2: float

    def values(self, x: np.ndarray) -> np.ndarray:
        return evaluate(self.shape, self.theta, self.outer, x)


def evaluate(
    shape: Shape, theta: Sequence[float], outer: Sequence[float], x: np.ndarray
) -> np.ndarray:
    """The formula of ``shape`` with these scalars at ``x``."""
    cols = shape.columns(np.asarray(theta, dtype=float), x)
    out = np.full_like(x, float(outer[-1]), dtype=float)
    for a, col in zip(outer[:-1], cols):
        out = out + float(a) * col
    return out


def solve(
    cols: Sequence[np.ndarray], pts: Points, constant: bool = True
) -> tuple[np.ndarray, float]:
    """The outer scalars (the constant last, 0 without ``constant``) and the weighted SSE."""
    k = len(cols) + constant
    design = np.empty((len(pts.x), k))
    for i, col in enumerate(cols):
        design[:, i] = col
    if constant:
        design[:, -1] = 1.0
    if not np.isfinite(design.sum()):
        return np.zeros(len(cols) + 1), np.inf
    weighted = design * pts.sw[:, None]
    # The normal equations of a few columns, with a whisper of ridge for collinear ones: many
    # times quicker than an SVD, and this runs for every residual of every fit.
    gram = weighted.T @ weighted
    gram.flat[:: k + 1] += 1e-12 * np.trace(gram) + 1e-300
    try:
        coef = np.linalg.solve(gram, weighted.T @ (pts.y * pts.sw))
    except np.linalg.LinAlgError:
        return np.zeros(len(cols) + 1), np.inf
    residual = (pts.y - design @ coef) * pts.sw
    return (coef if constant else np.append(coef, 0.0)), float(residual @ residual)


def _weighted_quantiles(z: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    order = np.argsort(z)
    cdf = np.cumsum(w[order])
    return np.interp(np.asarray(qs) * cdf[-1], cdf, z[order])


def grid(p: Primitive, z: np.ndarray, pts: Points) -> np.ndarray:
    """Inner scalars to try for ``p`` on input ``z``: scales around 1/std(z), centres at
    quantiles of z (and 0)."""
    w = pts.sw**2
    mean = float(np.sum(w * z))
    std = float(np.sqrt(np.sum(w * (z - mean) ** 2))) or 1.0
    scales = np.concatenate([_SCALES, -_SCALES]) / std
    centres = np.append(_weighted_quantiles(z, w, _CENTRES), 0.0)
    if p.inner == AFFINE:
        b, x0 = np.meshgrid(scales, centres, indexing="ij")
        return np.stack([b.ravel(), -(b * x0).ravel()], axis=1)
    if p.inner == SHIFT:
        return -centres[:, None]
    if p.inner == SCALE:
        return scales[:, None]
    return np.zeros((1, 0))  # NONE: nothing to search


def screen(
    p: Primitive,
    z: np.ndarray,
    pts: Points,
    thetas: np.ndarray,
    fixed: Sequence[np.ndarray] = (),
    factor: np.ndarray | None = None,
) -> np.ndarray:
    """The weighted SSE of every row of ``thetas`` for ``factor * p(theta, z)`` beside the
    ``fixed`` columns and a constant, each with its own linear solve (normal equations, all
    rows at once)."""
    col = p(thetas, z)
    if factor is not None:
        col = col * factor
    g, n = col.shape
    parts = [np.broadcast_to(f, (g, n)) for f in fixed] + [col, np.ones((g, n))]
    design = np.stack(parts, axis=2) * pts.sw[None, :, None]
    target = pts.y * pts.sw
    with np.errstate(all="ignore"):
        gram = np.einsum("gnk,gnl->gkl", design, design)
        rhs = np.einsum("gnk,n->gk", design, target)
        ridge = 1e-10 * np.trace(gram, axis1=1, axis2=2)[:, None, None] + 1e-300
        ok = np.all(np.isfinite(gram), axis=(1, 2)) & np.all(np.isfinite(rhs), axis=1)
        k = gram.shape[1]
        gram = np.where(ok[:, None, None], gram, np.eye(k)) + ridge * np.eye(k)
        coef = np.linalg.solve(gram, np.where(ok[:, None], rhs, 0.0)[..., None])[..., 0]
        residual = target[None, :] - np.einsum("gnk,gk->gn", design, coef)
        sse = np.einsum("gn,gn->g", residual, residual)
    return np.where(ok & np.isfinite(sse), sse, np.inf)


def best_indices(thetas: np.ndarray, sse: np.ndarray, k: int) -> list[int]:
    """The ``k`` rows of lowest finite SSE, skipping rows that repeat a chosen one."""
    out: list[int] = []
    for i in np.argsort(sse, kind="stable"):
        if not np.isfinite(sse[i]) or len(out) == k:
            break
        if not any(np.allclose(thetas[i], thetas[j], rtol=1e-3, atol=1e-9) for j in out):
            out.append(int(i))
    return out


def best_rows(thetas: np.ndarray, sse: np.ndarray, k: int) -> list[np.ndarray]:
    """The rows of :func:`best_indices`."""
    return [thetas[i] for i in best_indices(thetas, sse, k)]


def refine(shape: Shape, pts: Points, starts: Sequence[np.ndarray]) -> Fit | None:
    """Levenberg-Marquardt from each start; the best fit, or ``None`` when none is finite."""
    big = 1e3 * np.sqrt(pts.sst) + 1.0

    def residual(theta: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            cols = shape.columns(theta, pts.x)
            coef, sse = solve(cols, pts)
            if not np.isfinite(sse):
                return np.full_like(pts.x, big)
            r = pts.y - coef[-1]
            for a, c in zip(coef[:-1], cols):
                r = r - a * c
        return r * pts.sw

    best: tuple[float, np.ndarray] | None = None
    for start in starts:
        theta = np.asarray(start, dtype=float)
        if theta.size:
            # A start whose residual cannot be differentiated keeps its grid value.
            with contextlib.suppress(ValueError, np.linalg.LinAlgError):
                budget = MAX_NFEV * (theta.size + 1)
                fitted = least_squares(residual, theta, method="lm", x_scale="jac", max_nfev=budget)
                theta = fitted.x
        _, sse = solve(shape.columns(theta, pts.x), pts)
        if np.isfinite(sse) and (best is None or sse < best[0]):
            best = (sse, theta)
    if best is None:
        return None
    coef, sse = solve(shape.columns(best[1], pts.x), pts)
    return Fit(shape, tuple(float(v) for v in best[1]), tuple(float(v) for v in coef), pts.r2(sse))
