"""Distillation: a trained learnable activation (SLAF, rational/PAU, per-site, per-channel)
turned into a short formula, as pykan's ``auto_symbolic`` does for each learned curve.

:func:`distill` searches formulas over Ramachandran et al.'s operators under affine maps
``a*f(b*x + c) + d``, one operator or two (sums, products, compositions), with the scalars fitted
by ``scipy.optimize.least_squares``, and keeps the Pareto front of R² against nodes.
:func:`distill_trial` samples a stored trial's learned activation over the inputs its sites saw
(:mod:`afsearch.trial.inputs`), weighted by how often each input occurred, and distills it;
:func:`retrain` trains the formulas on fresh seeds against the learned activation and the
standard ones (the confirm stage's statistics). Names are imported when first used (PEP 562).

>>> import numpy as np
>>> from afsearch.distill import distill
>>> x = np.linspace(-3, 3, 400)
>>> [f.text for f in distill(x, x / (1 + np.exp(-1.7 * x)))]
['0.5*x + 0.661', '0.5882*silu(1.7*x)']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from afsearch._lazy import lazy_surface

if TYPE_CHECKING:
    from afsearch.distill._formula import Formula
    from afsearch.distill._library import PRIMITIVES, Primitive, register_primitive
    from afsearch.distill._plot import plot_distillation
    from afsearch.distill._retrain import Retrained, retrain
    from afsearch.distill._search import distill
    from afsearch.distill._trial import (
        DEFAULT_RANGE,
        Distillation,
        accepted_ops,
        distill_trial,
        sample_site,
    )

_HOMES = {
    "Formula": "_formula",
    "PRIMITIVES": "_library",
    "Primitive": "_library",
    "register_primitive": "_library",
    "plot_distillation": "_plot",
    "Retrained": "_retrain",
    "retrain": "_retrain",
    "distill": "_search",
    "DEFAULT_RANGE": "_trial",
    "Distillation": "_trial",
    "accepted_ops": "_trial",
    "distill_trial": "_trial",
    "sample_site": "_trial",
}

__all__ = [
    "DEFAULT_RANGE",
    "PRIMITIVES",
    "Distillation",
    "Formula",
    "Primitive",
    "Retrained",
    "accepted_ops",
    "distill",
    "distill_trial",
    "plot_distillation",
    "register_primitive",
    "retrain",
    "sample_site",
]

__getattr__, __dir__ = lazy_surface(__name__, _HOMES)
