"""The search: short formulas for a sampled curve, as a Pareto front of R² against nodes.

Its stages: every operator alone under its affine map (:data:`~afsearch.distill._structures`
``unit``); then sums and products of one of the ``width`` operators that fitted best alone (or
``x``) with any operator, and compositions of any operator over one of them, each screened on
the grid with the first unit held at its own fit (all pairs of the best operators are refined,
of the others the best screened); then sums of three units beside the best sums of two; then
the front: the best formula of each node count that beats every simpler one by more than
:data:`MIN_GAIN` of R². A curve that one operator fits exactly stops after the first stage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from afsearch.distill._fit import (
    STARTS,
    Fit,
    Points,
    best_indices,
    best_rows,
    grid,
    refine,
    screen,
    solve,
)
from afsearch.distill._formula import Formula, formula_of
from afsearch.distill._library import Primitive, primitives
from afsearch.distill._structures import ADD, COMPOSE, MUL, UNIT, Shape
from afsearch.exceptions import AfsearchError

#: A formula with more nodes joins the front only if it adds this much R².
MIN_GAIN = 1e-6
#: Two R² closer than this are a tie, which the earlier operator wins.
TIE = 1e-10
MIN_POINTS = 8
#: Shapes of two operators refined after the grid screen; of those, how many are refined
#: from all their starts (the most accurate after one); sums of two that a third unit is tried
#: beside, and sums of three refined.
REFINED = 24
POLISHED = 12
TRIPLED = 6


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
    >>> [(f.nodes, f.text) for f in distill(x, np.sin(x))]
    [(1, '0.0843*x'), (2, 'sin(x)')]
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
    """Sums and products of one of the best ``width`` operators (or x) with any operator, and
    compositions of any operator over one of the best, each screened on the grid with the
    first unit at its own fit: those of the best operators only are all refined, of the others
    the :data:`REFINED` best screened; then sums of three units."""
    library = [u.shape.ops[0] for u, _ in units.values()]
    order = {p.name: i for i, p in enumerate(library)}
    ranked = sorted(
        (name for name in units if name != "x"),
        key=lambda n: -units[n][0].r2 if math.isfinite(units[n][0].r2) else math.inf,
    )[:width]
    pool = [units["x"][0].shape.ops[0]] if "x" in units else []
    pool += [units[n][0].shape.ops[0] for n in ranked]
    screened: dict[Shape, list[tuple[float, np.ndarray]]] = {}

    def keep(shape: Shape, sse: np.ndarray, thetas: np.ndarray, join: Any) -> None:
        if shape.nodes <= max_nodes:
            for i in best_indices(thetas, sse, 2):
                screened.setdefault(shape, []).append((float(sse[i]), join(thetas[i])))

    for f in pool:
        for theta_f in units[f.name][1]:
            col = f(theta_f, pts.x)
            for g in library:
                if f.name == g.name == "x":
                    continue
                thetas = grid(g, pts.x, pts)
                first = order[f.name] <= order[g.name]
                ops = (f, g) if first else (g, f)

                def join(row: np.ndarray, t: np.ndarray = theta_f, first: bool = first) -> Any:
                    return np.concatenate([t, row] if first else [row, t])

                added = screen(g, pts.x, pts, thetas, fixed=[col])
                keep(Shape(ADD, ops), added, thetas, join)
                multiplied = screen(g, pts.x, pts, thetas, factor=col)
                keep(Shape(MUL, ops), multiplied, thetas, join)
    for g in pool[1:] if pool and pool[0].name == "x" else pool:
        for theta_g in units[g.name][1]:
            z = g(theta_g, pts.x)
            if not np.all(np.isfinite(z)):
                continue
            for f in library:
                if f.name == "x":
                    continue
                thetas = grid(f, z, pts)

                def inner(row: np.ndarray, t: np.ndarray = theta_g) -> Any:
                    return np.concatenate([row, t])

                keep(Shape(COMPOSE, (f, g)), screen(f, z, pts, thetas), thetas, inner)
    # Pairs of the best operators are all refined (the screen, with one unit held at its own
    # fit, misjudges pairs whose units move far from it); of the others, the best screened.
    names = {p.name for p in pool}
    inside = [sh for sh in screened if all(p.name in names for p in sh.ops)]
    outside = sorted(
        (sh for sh in screened if sh not in inside), key=lambda sh: min(s for s, _ in screened[sh])
    )
    best = inside + outside[:REFINED]
    fits = _refine_all(best, [[t for _, t in screened[sh]] for sh in best], pts, rng)
    if max_nodes >= 8:
        fits += _triples(fits, library, pts, rng, max_nodes)
    return fits


def _refine_all(
    shapes: list[Shape], starts: list[list[np.ndarray]], pts: Points, rng: np.random.Generator
) -> list[Fit]:
    """Every shape from its best start; the :data:`POLISHED` most accurate after that from
    their other starts too."""
    starts = [_starts(shape, pts, s, rng) for shape, s in zip(shapes, starts)]
    fits = [_fit(shape, pts, s[:1]) for shape, s in zip(shapes, starts)]
    for i in sorted(range(len(fits)), key=lambda i: -fits[i].r2)[:POLISHED]:
        if len(starts[i]) > 1:
            again = _fit(shapes[i], pts, starts[i][1:])
            if again.r2 > fits[i].r2:
                fits[i] = again
    return fits


def _triples(
    pairs: list[Fit],
    library: list[Primitive],
    pts: Points,
    rng: np.random.Generator,
    max_nodes: int,
) -> list[Fit]:
    """Sums of three units: a third unit screened beside each of the :data:`TRIPLED` best
    sums of two (at their fits), the best of each refined."""
    sums = sorted((f for f in pairs if f.shape.kind == ADD), key=lambda f: -f.r2)[:TRIPLED]
    shapes: list[Shape] = []
    starts: list[list[np.ndarray]] = []
    for pair in sums:
        theta = np.array(pair.theta)
        cols = pair.shape.columns(theta, pts.x)
        for h in library:
            shape = Shape(ADD, (*pair.shape.ops, h))
            if shape.nodes > max_nodes or shape in shapes:
                continue
            thetas = grid(h, pts.x, pts)
            rows = best_rows(thetas, screen(h, pts.x, pts, thetas, fixed=cols), 1)
            if rows:
                shapes.append(shape)
                starts.append([np.concatenate([theta, rows[0]])])
    scores = [solve(sh.columns(s[0], pts.x), pts)[1] for sh, s in zip(shapes, starts)]
    best = np.argsort(scores, kind="stable")[:TRIPLED]
    return _refine_all([shapes[i] for i in best], [starts[i] for i in best], pts, rng)
