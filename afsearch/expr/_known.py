"""Standard activations as SymPy builders, by name.

Used as baselines (family ``standard``), as targets that SLAF and rational units are fitted to
at initialisation, and as the base activations of ``taaf`` and ``lslu``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy

from afsearch.exceptions import AfsearchError, choices
from afsearch.expr._functions import sigmoid, softplus

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _elu(u: Any, alpha: Any = 1) -> Any:
    return sympy.Piecewise((u, u > 0), (alpha * (sympy.exp(u) - 1), True))


KNOWN: dict[str, Callable[[Any], Any]] = {
    "relu": lambda u: sympy.Max(u, 0),
    "leaky_relu": lambda u: sympy.Max(u, 0) + sympy.Float(0.01) * sympy.Min(u, 0),
    "gelu": lambda u: u * (1 + sympy.erf(u / sympy.sqrt(2))) / 2,
    "silu": lambda u: u * sigmoid(u),
    "mish": lambda u: u * sympy.tanh(softplus(u)),
    "elu": _elu,
    "selu": lambda u: sympy.Float(SELU_SCALE) * _elu(u, sympy.Float(SELU_ALPHA)),
    "softplus": softplus,
    "tanh": sympy.tanh,
    "sigmoid": sigmoid,
    "identity": lambda u: u,
    "sin": sympy.sin,
}


def known(name: str, u: Any) -> Any:
    """The standard activation ``name`` applied to ``u``."""
    if name not in KNOWN:
        raise AfsearchError(f"Unknown activation {name!r}; valid names are {choices(KNOWN)}.")
    return KNOWN[name](u)
