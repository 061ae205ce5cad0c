"""The expression layer: what a candidate activation is, below everything that uses one.

A :class:`Candidate` is one SymPy expression in the input symbol :data:`X` with named scalar
:class:`Param` values; :func:`parse_expression` reads text into such an expression against an
allow-list (never ``eval``); the SymPy function classes afsearch adds (``sigmoid``,
``softplus``, the series) and the standard activations (:data:`KNOWN`) are its vocabulary.
The compiler and the activation families build on this package; it imports none of them.

>>> c = Candidate(parse_expression("x*sigmoid(beta*x)"), {"beta": Param(1.0)})
>>> Candidate.from_dict(c.to_dict()) == c
True
"""

from afsearch.expr._candidate import Candidate, Param
from afsearch.expr._functions import (
    SERIES,
    chebyshev_series,
    expand_series,
    legendre_series,
    power_series,
    sigmoid,
    softplus,
    to_elementary,
)
from afsearch.expr._known import KNOWN, SELU_ALPHA, SELU_SCALE, known
from afsearch.expr._numeric import evaluate
from afsearch.expr._parse import parse_expression
from afsearch.expr._sites import PER_SITE, SiteCandidates
from afsearch.expr._symbols import X, symbol, to_text

__all__ = [
    "KNOWN",
    "PER_SITE",
    "SELU_ALPHA",
    "SELU_SCALE",
    "SERIES",
    "Candidate",
    "Param",
    "SiteCandidates",
    "X",
    "chebyshev_series",
    "evaluate",
    "expand_series",
    "known",
    "legendre_series",
    "parse_expression",
    "power_series",
    "sigmoid",
    "softplus",
    "symbol",
    "to_elementary",
    "to_text",
]
