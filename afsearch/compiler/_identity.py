"""Activation identity: a canonical form and a numerical fingerprint.

Two expressions that compute the same function are the same candidate, so a search never trains
one function twice. Symbolic equality is undecidable in general and ``simplify`` is slow, so the
id rests on numbers: the function evaluated in float64 at fixed points, and, for each trainable
parameter, its partial derivative at the same points (the same function with a different set of
trainable parameters trains differently). Values are rounded to 7 significant digits and
hashed; the derivative fingerprints are sorted, so parameter names do not matter. A per-channel
candidate (one value of each trainable parameter per channel) trains differently from the
shared one, so its fingerprint is marked and its id differs.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import sympy
import torch

from afsearch.compiler._module import CompiledActivation
from afsearch.compiler._program import run_program
from afsearch.expr import PER_SITE, Candidate, SiteCandidates, symbol, to_elementary

#: Where fingerprints are taken: dense on [-6, 6], a few points further out, none on the
#: integers (kinks of max/abs-based activations sit there) except 0 itself.
POINTS = np.concatenate(
    [
        np.linspace(-6.0, 6.0, 49) + 0.0173,
        np.array([-20.3, -11.7, -9.1, 0.0, 9.3, 12.1, 19.7, 1e-3, -1e-3]),
    ]
)
DIGITS = 7
SMALL = 1e-4
SMALL_DECIMALS = 11


def _round(values: np.ndarray) -> list[str]:
    out = []
    for v in values.tolist():
        if math.isnan(v):
            out.append("nan")
        elif math.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        elif abs(v) < SMALL:
            # Absolute rounding near zero: naive formulas (log(1 + exp(x)) for x << 0) lose
            # relative precision there while staying accurate in absolute terms.
            q = round(v, SMALL_DECIMALS)
            out.append(repr(q) if q != 0 else "0.0")
        else:
            out.append(repr(float(f"{v:.{DIGITS - 1}e}")))
    return out


def fingerprint(candidate: Candidate) -> dict[str, Any]:
    """Values of the function and of its trainable-parameter derivatives at :data:`POINTS`."""
    module = CompiledActivation(candidate, dtype=torch.float64, native=False)
    x = torch.tensor(POINTS, dtype=torch.float64)
    with torch.no_grad():
        y = module(x)
    grads: list[list[str]] = []
    trainable = candidate.trainable
    if trainable:
        base = {n: getattr(module, f"p_{n}").detach() for n in module.names}

        def f(*ps: torch.Tensor) -> torch.Tensor:
            values = dict(base, **dict(zip(trainable, ps)))
            out = run_program(module.program, [x, *(values[n] for n in module.names)])[0]
            return out + torch.zeros_like(x)

        jac = torch.autograd.functional.jacobian(f, tuple(base[n] for n in trainable))
        grads = sorted(_round(j.numpy()) for j in jac)
    fp: dict[str, Any] = {"values": _round(y.detach().numpy()), "grads": grads}
    if candidate.per_channel:
        fp["per_channel"] = True
    return fp


def activation_id(candidate: Candidate) -> str:
    """A stable id such as ``af-3f2c...`` shared by every expression of the same function."""
    return id_of_fingerprint(fingerprint(candidate))


def id_of_fingerprint(fp: dict[str, Any]) -> str:
    """The id that :func:`activation_id` gives the candidate with fingerprint ``fp``."""
    blob = "|".join(fp["values"]) + "#" + "#".join("|".join(g) for g in fp["grads"])
    if fp.get("per_channel"):
        blob += "#per_channel"
    return "af-" + hashlib.sha256(blob.encode()).hexdigest()[:16]


def canonical_form(candidate: Candidate) -> Any:
    """A readable normal form: afsearch's functions rewritten, parameters substituted, floats
    rounded. Equal functions need not share it (the fingerprint decides); it is for display."""
    expr = to_elementary(candidate.expr)
    fixed = {symbol(n): sympy.Float(p.value, 8) for n, p in candidate.params.items()}
    expr = expr.xreplace(fixed)
    return sympy.nsimplify(expr, rational=False, tolerance=1e-10) if expr.is_number else expr


def candidate_record(
    candidate: Candidate | SiteCandidates, *, with_fingerprint: bool = False
) -> dict[str, Any]:
    """The candidate as data (:meth:`Candidate.to_dict`) with what is derived from it: its id,
    ``srepr`` and LaTeX (and the fingerprint itself, if asked). Trials carry and store this
    record; exports write it beside the module.

    A per-site activation's record holds each site's record under ``sites`` and its id is that
    of the ordered tuple of its sites' ids, so two trials with the same function at every site
    are the same candidate, and the same functions in another order are not."""
    if isinstance(candidate, SiteCandidates):
        return _sites_record(candidate, with_fingerprint)
    fp = fingerprint(candidate)
    record = {
        **candidate.to_dict(),
        "id": id_of_fingerprint(fp),
        "srepr": sympy.srepr(candidate.expr),
        "latex": sympy.latex(candidate.expr),
    }
    if with_fingerprint:
        record["fingerprint"] = fp
    return record


def _sites_record(sites: SiteCandidates, with_fingerprint: bool) -> dict[str, Any]:
    records = [candidate_record(c, with_fingerprint=with_fingerprint) for c in sites.sites]
    ids = [r["id"] for r in records]
    blob = "sites|" + "|".join(ids)
    # The params column keeps its form {name: {value, trainable}}, names as site<k>.<name>.
    params = {f"site{k}.{n}": p for k, r in enumerate(records) for n, p in r["params"].items()}
    return {
        "expression": sites.text,
        "params": params,
        "family": PER_SITE,
        "sites": records,
        "id": "af-" + hashlib.sha256(blob.encode()).hexdigest()[:16],
        "srepr": " ; ".join(r["srepr"] for r in records),
        "latex": r" \;;\; ".join(r["latex"] for r in records),
    }
