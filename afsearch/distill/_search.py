"""The search: short formulas for a sampled curve, as a Pareto front of R² against nodes.

Its stages: every operator alone under its affine map (:data:`~afsearch.distill._structures`
``unit``); then, of the ``width`` operators that fitted best alone (and ``x``), every sum and
product of two units and every composition f(g(x)), each started from the units' fits; then the
front: the best formula of each node count that beats every simpler one by more than
:data:`MIN_GAIN` of R².
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from afsearch.distill._fit import STARTS, Fit, Points, best_rows, grid, refine, screen, solve
from afsearch.distill._formula import Formula, formula_of
from afsearch.distill._library import Primitive, primitives
from afsearch.distill._structures import ADD, COMPOSE, MUL, UNIT, Shape
from afsearch.exceptions import AfsearchError

#: A formula with more nodes joins the front only if it adds this much R².
MIN_GAIN = 1e-6
#: Two R² closer than this are a tie, which the earlier operator wins.
TIE = 1e-10
MIN_POINTS = 8
#: Pairs refined from all their starts, not only the best one: the most accurate after one.
POLISHED = 12


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise AfsearchError(f"{name} must be an integer of at least {low}, got {value!r}.")
    return value


def points(x: Any, y: Any, weights: Any = None) -> Points:
    """Checked float64 points; a sentence for anything that cannot be fitted."""
    xs = np.asarray(x, dtype=float).ravel()
    ys = np.asarray(y, dtype=float).ravel()
    ws = np.ones_like(xs) if weights is None else np.asarray(weights, dtype=float).ravel()
    if not len(xs) == len(ys) == len(ws):
        raise AfsearchError(
            f"x, y and weights must have one value per point, got {len(xs)}, {len(ys)} and "
            f"{len(ws)} values."
        )
    if len(xs) < MIN_POINTS:
        raise AfsearchError(f"A curve needs at least {MIN_POINTS} points, got {len(xs)}.")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys)) and np.all(np.isfinite(ws))):
        raise AfsearchError("x, y and weights must be finite; the curve has NaN or infinity.")
    if np.any(ws < 0) or not ws.sum() > 0:
        raise AfsearchError("weights must be at least 0 and not all 0.")
    pts = Points.of(xs, ys, ws)
    if not pts.sst > 1e-24 * max(1.0, float(np.max(np.abs(ys))) ** 2):
        raise AfsearchError(
            f"The curve is constant ({float(ys[0]):.4g}) where it is weighted; there is "
            "nothing to distill."
        )
    return pts


def distill(
    x: Any,
    y: Any,
    weights: Any = None,
    *,
    max_nodes: int = 8,
    top: int = 5,
    seed: int = 0,
    ops: Iterable[str] | None = None,
    width: int = 6,
) -> list[Formula]:
    """Short formulas for the curve ``y(x)``, weighted by ``weights``: the Pareto front of R²
    against nodes, simplest first, at most ``top`` of them (the least accurate left out).

    ``ops`` limits the operators (:data:`afsearch.distill.PRIMITIVES`, all by default);
    ``width`` is how many of the best single operators are combined in pairs. The same
    arguments give the same formulas; ``seed`` moves one start of each fit.

    >>> import numpy as np
    >>> x = np.linspace(-4, 4, 300)
    >>> [f.text for f in distill(x, np.sin(x))]
    ['sin(x)']
    """
    pts = points(x, y, weights)
    _check_int("max_nodes", max_nodes, 1)
    _check_int("top", top, 1)
    _check_int("width", width, 1)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise AfsearchError(f"seed must be an integer, got {seed!r}.")
    rng = np.random.default_rng(seed)
    library = primitives(ops)
    units = _units(library, pts, rng, max_nodes)
    fits = [u for u, _ in units.values()]
    # A pair joins the front only by beating the best single operator by MIN_GAIN.
    exact = max((f.r2 for f in fits), default=-math.inf) > 1.0 - MIN_GAIN
    if max_nodes >= 3 and not exact:
        fits += _pairs(units, pts, rng, max_nodes, width)
    front = pareto([f for f in fits if f.shape.nodes <= max_nodes])
    formulas = pareto([formula_of(f, pts) for f in front])
    while len(formulas) > top:
        formulas.pop(int(np.argmin([f.r2 for f in formulas])))
    return formulas


def pareto(fits: Sequence[Any]) -> list[Any]:
    """The fits (or formulas) no simpler one matches: the best of each node count (ties to
    the earlier) that beats every one with fewer nodes by more than :data:`MIN_GAIN`."""
    best: dict[int, Any] = {}
    for f in fits:
        n = f.nodes if hasattr(f, "nodes") else f.shape.nodes
        if math.isfinite(f.r2) and (n not in best or f.r2 > best[n].r2 + TIE):
            best[n] = f
    front: list[Any] = []
    for n in sorted(best):
        if not front or best[n].r2 > front[-1].r2 + MIN_GAIN:
            front.append(best[n])
    return front


def _jitter(start: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return start * (1.0 + 0.1 * rng.standard_normal(start.shape)) + 0.01 * rng.standard_normal(
        start.shape
    )


def _starts(
    shape: Shape, pts: Points, starts: list[np.ndarray], rng: np.random.Generator
) -> list[np.ndarray]:
    """The best :data:`STARTS` of ``starts`` (by their projected SSE), then a jittered copy of
    the best."""
    if not shape.width or not starts:
        return starts or [np.zeros(shape.width)]
    sse = [solve(shape.columns(s, pts.x), pts)[1] for s in starts]
    best = best_rows(np.array(starts), np.array(sse), STARTS)
    return [*best, _jitter(best[0], rng)] if best else [np.zeros(shape.width)]


def _fit(shape: Shape, pts: Points, starts: list[np.ndarray]) -> Fit:
    fit = refine(shape, pts, starts)
    return fit if fit is not None else Fit(shape, (0.0,) * shape.width, (0.0, 0.0), -math.inf)


def _units(
    library: list[Primitive], pts: Points, rng: np.random.Generator, max_nodes: int
) -> dict[str, tuple[Fit, list[np.ndarray]]]:
    """Each operator alone, with the inner scalars its pairs start from (its fit's and its best
    grid point's)."""
    out: dict[str, tuple[Fit, list[np.ndarray]]] = {}
    for p in library:
        shape = Shape(UNIT, (p,))
        if shape.nodes > max_nodes:
            continue
        thetas = grid(p, pts.x, pts)
        rows = best_rows(thetas, screen(p, pts.x, pts, thetas), STARTS)
        fit = _fit(shape, pts, _starts(shape, pts, rows, rng))
        seeds = [np.array(fit.theta), *rows[:1]]
        out[p.name] = (fit, best_rows(np.array(seeds), np.zeros(len(seeds)), 2))
    return out


def _pairs(
    units: dict[str, tuple[Fit, list[np.ndarray]]],
    pts: Points,
    rng: np.random.Generator,
    max_nodes: int,
    width: int,
) -> list[Fit]:
    """Sums, products and compositions of the best ``width`` operators (and x)."""
    ranked = sorted(
        (name for name in units if name != "x"),
        key=lambda n: -units[n][0].r2 if math.isfinite(units[n][0].r2) else math.inf,
    )[:width]
    chosen = [units[n][0].shape.ops[0] for n in ranked]
    with_x = ([units["x"][0].shape.ops[0]] if "x" in units else []) + chosen
    shapes: list[tuple[Shape, list[np.ndarray]]] = []
    for f, g in itertools.combinations_with_replacement(with_x, 2):
        if f.name == g.name == "x":
            continue
        for kind in (ADD, MUL):
            shape = Shape(kind, (f, g))
            if shape.nodes <= max_nodes:
                shapes.append((shape, _pair_starts(shape, units, pts)))
    for f, g in itertools.product(chosen, chosen):
        shape = Shape(COMPOSE, (f, g))
        if shape.nodes <= max_nodes:
            shapes.append((shape, _compose_starts(f, g, units, pts)))
    starts = [_starts(shape, pts, s, rng) for shape, s in shapes]
    # Every shape from its best start; the most promising ones from their other starts too.
    fits = [_fit(shape, pts, s[:1]) for (shape, _), s in zip(shapes, starts)]
    for i in sorted(range(len(fits)), key=lambda i: -fits[i].r2)[:POLISHED]:
        again = _fit(shapes[i][0], pts, starts[i][1:]) if len(starts[i]) > 1 else fits[i]
        if again.r2 > fits[i].r2:
            fits[i] = again
    return fits


def _pair_starts(
    shape: Shape, units: dict[str, tuple[Fit, list[np.ndarray]]], pts: Points
) -> list[np.ndarray]:
    """Starts of a sum or product: one unit at its own fit, the other's best grid points with
    it (the fixed column of a sum, the factor of a product); both ways round."""
    f, g = shape.ops
    starts: list[np.ndarray] = []
    for fixed, free, first in ((f, g, True), (g, f, False)):
        for theta in units[fixed.name][1]:
            col = fixed(theta, pts.x)
            thetas = grid(free, pts.x, pts)
            if shape.kind == ADD:
                sse = screen(free, pts.x, pts, thetas, fixed=[col])
            else:
                sse = screen(free, pts.x, pts, thetas, factor=col)
            for row in best_rows(thetas, sse, 2):
                starts.append(np.concatenate([theta, row] if first else [row, theta]))
    return starts


def _compose_starts(
    f: Primitive, g: Primitive, units: dict[str, tuple[Fit, list[np.ndarray]]], pts: Points
) -> list[np.ndarray]:
    """Starts of f(g(x)): g at its own fits, f's best grid points on g's output."""
    starts: list[np.ndarray] = []
    for theta_g in units[g.name][1]:
        z = g(theta_g, pts.x)
        if not np.all(np.isfinite(z)):
            continue
        thetas = grid(f, z, pts)
        for row in best_rows(thetas, screen(f, z, pts, thetas), 2):
            starts.append(np.concatenate([row, theta_g]))
    return starts
