"""Activation families, candidates, safe parsing and identity.

>>> from afsearch.activations import build
>>> cand = build({"family": "swish", "beta": 1.0})
>>> cand.id == build({"family": "grammar"}).id   # x*sigmoid(x) either way
True
"""

from afsearch.activations import _ensemble, _grammar, _parametric, _slaf  # noqa: F401 (register)
from afsearch.activations._candidate import Candidate, Param, X, symbol
from afsearch.activations._functions import (
    chebyshev_series,
    expand_series,
    legendre_series,
    power_series,
    sigmoid,
    softplus,
    to_elementary,
)
from afsearch.activations._grammar import BINARY, UNARY
from afsearch.activations._identity import activation_id, canonical_form, fingerprint
from afsearch.activations._known import KNOWN
from afsearch.activations._parse import parse_expression
from afsearch.activations._registry import (
    BaseFamily,
    ParamSpec,
    build,
    get_family,
    list_families,
    register_family,
)
from afsearch.activations._slaf import BASES

__all__ = [
    "BASES",
    "BINARY",
    "KNOWN",
    "UNARY",
    "BaseFamily",
    "Candidate",
    "Param",
    "ParamSpec",
    "X",
    "activation_id",
    "build",
    "canonical_form",
    "chebyshev_series",
    "expand_series",
    "fingerprint",
    "get_family",
    "legendre_series",
    "list_families",
    "parse_expression",
    "power_series",
    "register_family",
    "sigmoid",
    "softplus",
    "symbol",
    "to_elementary",
]
