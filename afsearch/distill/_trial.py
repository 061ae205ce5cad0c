"""Distilling a stored trial: its learned activation at each site, sampled where it mattered.

A site's learned function (its candidate with the values that site learned; a per-channel
parameter at its mean over the channels) is evaluated in float64 through the compiler on
:data:`GRID` points over the inputs the site saw in the trial's last epoch (the 0.1% to 99.9%
quantiles, :mod:`afsearch.trial.inputs`), widened by :data:`WIDEN` of that range on each side.
Each point is weighted by the density of the inputs there (the derivative of a monotone PCHIP
interpolation of the recorded quantiles), plus a floor of :data:`FLOOR`, so the formula follows
the curve where the network used it and still keeps its shape across the whole range.

A trial that recorded no input range (one trained before afsearch recorded them) is sampled on
:data:`DEFAULT_RANGE` with equal weights, and its :class:`Distillation` carries a note saying
so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from afsearch.distill._formula import Formula
from afsearch.distill._search import distill
from afsearch.exceptions import AfsearchError, shorten
from afsearch.expr import Candidate, SiteCandidates
from afsearch.trial.inputs import input_quantiles

#: Where a trial without recorded input ranges is sampled.
DEFAULT_RANGE = (-3.0, 3.0)
#: Points sampled per site, the margin added on each side of the seen range (as a fraction of
#: it), and the weight every point keeps however rare its input.
GRID = 400
WIDEN = 0.1
FLOOR = 0.1


@dataclass(frozen=True)
class Distillation:
    """One site of a trial distilled: the learned function, where it was sampled, the front."""

    trial: str
    site: int
    sites: int
    #: The learned function with its values, and the family it came from (``rational(init=tanh)``).
    activation: str
    family: str
    formulas: list[Formula]
    #: The 0.1%-99.9% range of the inputs the site saw; ``None`` when the trial stored none.
    seen: tuple[float, float] | None
    note: str | None
    seconds: float
    x: np.ndarray = field(repr=False, compare=False)
    y: np.ndarray = field(repr=False, compare=False)
    weights: np.ndarray = field(repr=False, compare=False)

    @property
    def sampled(self) -> tuple[float, float]:
        return float(self.x[0]), float(self.x[-1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial,
            "site": self.site,
            "sites": self.sites,
            "activation": self.activation,
            "family": self.family,
            "seen": list(self.seen) if self.seen else None,
            "sampled": list(self.sampled),
            "note": self.note,
            "seconds": self.seconds,
            "formulas": [f.to_dict() for f in self.formulas],
        }


def distill_trial(
    db: Any,
    trial_ref: int | str,
    site: int | None = None,
    *,
    max_nodes: int = 8,
    top: int = 5,
    seed: int = 0,
    ops: Any = None,
) -> list[Distillation]:
    """Distill the learned activation of a stored trial (``"study/N"`` or its id) in the
    database ``db``: every site with learned parameters, or only ``site``.

    >>> distill_trial("sqlite:///afsearch.db", "pau/3")[0].formulas[-1].text  # doctest: +SKIP
    '1.02*tanh(0.93*x) + 0.04'
    """
    from afsearch.store import trial as get_trial

    t = get_trial(trial_ref, db)
    name = f"{t.study}/{t.number}"
    curves = site_candidates(t, site)
    stored = input_quantiles(t.learned_params)
    smooth = None
    if ops is None:
        ops, smooth = _task_ops(t)
    out = []
    for k, candidate in curves:
        start = time.perf_counter()
        quantiles = _site_quantiles(stored, k)
        x, y, w, seen, note = sample_site(candidate, quantiles, name, k)
        note = " ".join(n for n in (note, smooth) if n) or None
        formulas = distill(x, y, w, max_nodes=max_nodes, top=top, seed=seed, ops=ops)
        out.append(
            Distillation(
                name,
                k,
                _count_sites(t),
                _text(candidate),
                _label(t, k),
                formulas,
                seen,
                note,
                time.perf_counter() - start,
                x,
                y,
                w,
            )
        )
    return out


def accepted_ops(task: Any) -> list[str] | None:
    """The operators whose formulas ``task`` accepts, when it differentiates its activation
    (a PINN refuses kinks: relu, abs, and sqrt and log of |u| + eps); ``None`` (all of them)
    for a task that does not."""
    from afsearch.distill._library import PRIMITIVES
    from afsearch.distill._structures import UNIT, Shape
    from afsearch.expr import parse_expression

    if not task.derivatives:
        return None
    kept = []
    for name, p in PRIMITIVES.items():
        text = Shape(UNIT, (p,)).text((1.5, 0.5)[: p.width], (1.0, 0.0), 4)
        try:
            task.check_candidate(Candidate(parse_expression(text, params=())))
        except AfsearchError:
            continue
        kept.append(name)
    return kept


def _task_ops(t: Any) -> tuple[list[str] | None, str | None]:
    """:func:`accepted_ops` of the trial's task, and a note naming the operators left out."""
    from afsearch.distill._library import PRIMITIVES
    from afsearch.tasks import get_task
    from afsearch.trial import TrialSpec

    try:
        spec = TrialSpec.from_dict(t.config or {})
        task = get_task(spec.task, spec.settings)
    except (AfsearchError, KeyError, TypeError, ValueError):
        return None, None  # an old or foreign config: every operator
    kept = accepted_ops(task)
    left = [n for n in PRIMITIVES if kept is not None and n not in kept]
    if not left:
        return kept, None
    return kept, (
        f"Task {spec.task!r} takes {task.derivatives} derivatives of its activation, so the "
        f"formulas use only the operators it accepts (not {', '.join(left)})."
    )


def _site_quantiles(
    stored: tuple[list[float], list[list[float]]] | None, k: int
) -> tuple[list[float], list[float]] | None:
    if stored is None:
        return None
    levels, sites = stored
    if k >= len(sites) or not sites[k]:
        return None
    return levels, sites[k]


def _count_sites(t: Any) -> int:
    from afsearch.results import trial_candidate

    candidate = trial_candidate(t, False)
    if isinstance(candidate, SiteCandidates):
        return len(candidate.sites)
    per_site = (t.learned_params or {}).get("per_site") or {}
    lengths = [len(v) for v in per_site.values() if isinstance(v, list)]
    stored = input_quantiles(t.learned_params)
    return max([*lengths, len(stored[1]) if stored else 0, 1])


def site_candidates(t: Any, site: int | None) -> list[tuple[int, Candidate]]:
    """The learned function of each site of trial ``t`` that has learned parameters (or of
    ``site``), with that site's own values; a sentence when there is none to distill."""
    from afsearch.results import trial_candidate

    name = f"{t.study}/{t.number}"
    initial = trial_candidate(t, False)
    n = _count_sites(t)
    if site is not None and (isinstance(site, bool) or not isinstance(site, int)):
        raise AfsearchError(f"site must be a site number, got {site!r}.")
    if site is not None and not 0 <= site < n:
        span = "site 0" if n == 1 else f"sites 0 to {n - 1}"
        raise AfsearchError(
            f"site is {site}, but trial {name} has {n} activation "
            f"site{'s' if n > 1 else ''} ({span})."
        )
    sites = list(initial.sites) if isinstance(initial, SiteCandidates) else [initial] * n
    learnable = [k for k, c in enumerate(sites) if c.trainable]
    if not learnable:
        trained = "; ".join(dict.fromkeys(_text(c) for c in sites))
        raise AfsearchError(
            f"Trial {name} trained {trained}, which has no learned parameters; distill a trial "
            "of a learnable activation: family rational or slaf, or a family with "
            "trainable: true."
        )
    if site is not None and site not in learnable:
        raise AfsearchError(
            f"Site {site} of trial {name} trained {_text(sites[site])}, which has no learned "
            f"parameters; its learnable sites are {', '.join(map(str, learnable))}."
        )
    learned: dict[str, Any] = t.learned_params if isinstance(t.learned_params, dict) else {}
    per_site: dict[str, Any] = learned.get("per_site") or {}
    if not isinstance(per_site, dict):
        per_site = {}
    if not learned.get("mean") and not per_site:
        # A stored error may be a whole traceback: its last line says what went wrong.
        lines = [line.strip() for line in str(t.error or "").splitlines() if line.strip()]
        why = f": {shorten(lines[-1], 120)}" if lines else ""
        raise AfsearchError(
            f"Trial {name} stored no learned values (its status is {t.status.value}{why}); "
            "distill a trial that trained at least one epoch."
        )
    chosen = [site] if site is not None else learnable
    out = []
    for k in chosen:
        if isinstance(initial, SiteCandidates):
            prefix = f"site{k}."
            values = {
                n[len(prefix) :]: v[0]
                for n, v in per_site.items()
                if n.startswith(prefix) and isinstance(v, list) and v
            }
        else:
            values = {n: v[k] for n, v in per_site.items() if isinstance(v, list) and k < len(v)}
        if not values:  # older rows: the mean over sites is all there is
            values = {
                n.split(".", 1)[-1]: v
                for n, v in (learned.get("mean") or {}).items()
                if not isinstance(initial, SiteCandidates) or n.startswith(f"site{k}.")
            }
        out.append((k, sites[k].with_values({n: float(v) for n, v in values.items()})))
    return out


def _label(t: Any, site: int) -> str:
    """The family label of site ``site``'s activation, as the leaderboard shows it."""
    from afsearch.activations import label

    config = (t.config or {}).get("activation") or {}
    sites = config.get("sites") if isinstance(config, dict) else None
    if isinstance(sites, list) and site < len(sites) and isinstance(sites[site], dict):
        config = sites[site]
    return label(config, None, 60) if isinstance(config, dict) and config else "-"


def _text(candidate: Candidate) -> str:
    import sympy

    from afsearch.expr import to_text

    expr = candidate.substituted()
    short = {f: sympy.Float(float(f"{float(f):.4g}")) for f in expr.atoms(sympy.Float)}
    return to_text(expr.xreplace(short))


def density_weights(x: np.ndarray, levels: list[float], quantiles: list[float]) -> np.ndarray:
    """The density of the inputs at ``x`` from their quantiles (a monotone PCHIP through the
    CDF, differentiated), mixed with a floor of :data:`FLOOR`, averaging 1 over ``x``."""
    from scipy.interpolate import PchipInterpolator

    q: list[float] = []
    p: list[float] = []
    for level, value in sorted(zip(levels, quantiles)):
        if q and value <= q[-1]:  # repeated quantiles: keep the highest level at that value
            p[-1] = level
            continue
        q.append(value)
        p.append(level)
    density = np.zeros_like(x)
    if len(q) >= 2:
        inside = (x >= q[0]) & (x <= q[-1])
        density[inside] = np.maximum(PchipInterpolator(q, p).derivative()(x[inside]), 0.0)
        margin = WIDEN * (q[-1] - q[0]) or 1.0
        tails = ~inside
        low_mass, high_mass = p[0], 1.0 - p[-1]
        density[tails & (x < q[0])] = low_mass / margin
        density[tails & (x > q[-1])] = high_mass / margin
    if not density.sum() > 0:
        return np.ones_like(x)
    density = density / density.mean()
    return (1.0 - FLOOR) * density + FLOOR


def sample_site(
    candidate: Candidate,
    quantiles: tuple[list[float], list[float]] | None,
    trial: str | None = None,
    site: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float] | None, str | None]:
    """The grid, the learned function on it (float64, through the compiler), the weights, the
    seen range and a note when there was none to use."""
    import torch

    from afsearch.compiler import CompiledActivation

    whose = f"site {site} of trial {trial}" if trial else f"site {site}"
    note = None
    if quantiles is None:
        low, high = DEFAULT_RANGE
        seen = None
        note = (
            f"No input range was recorded for {whose} (it trained before afsearch recorded "
            f"them, or saw no training batch); sampled on [{low:g}, {high:g}] with equal "
            "weights."
        )
    else:
        q = quantiles[1]
        seen = (float(min(q)), float(max(q)))
        if not seen[1] > seen[0]:
            raise AfsearchError(
                f"{whose[0].upper()}{whose[1:]} saw one input value ({seen[0]:.4g}) in its last "
                "epoch; there is no curve to distill."
            )
        margin = WIDEN * (seen[1] - seen[0])
        low, high = seen[0] - margin, seen[1] + margin
    x = np.linspace(low, high, GRID)
    module = CompiledActivation(candidate, torch.float64)
    with torch.no_grad():
        y = module(torch.from_numpy(x)).numpy().astype(float)
    if not np.all(np.isfinite(y)):
        raise AfsearchError(
            f"The learned activation of {whose} is not finite on "
            f"[{low:.4g}, {high:.4g}]; there is no curve to distill."
        )
    w = np.ones_like(x) if quantiles is None else density_weights(x, *quantiles)
    return x, y, w, seen, note
