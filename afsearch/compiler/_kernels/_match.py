"""Which kernel computes a candidate's expression: matched on the SymPy tree, not on a name.

A family's name says nothing a mutated or hand-written expression keeps, so the tree decides:
each kernel class recognises its own form and rebuilds it from what it found (or accounts for
every term), and anything else, however close, keeps the program path.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import sympy

from afsearch.compiler._kernels._base import BaseKernel
from afsearch.compiler._kernels._periodic import FourierKernel, RbfKernel
from afsearch.compiler._kernels._polynomial import POLYNOMIALS
from afsearch.compiler._kernels._rational import RationalKernel
from afsearch.expr import X

#: Every kernel, tried in turn; each class's ``match(body)`` gives ``(kernel, coefficient
#: symbols in the kernel's order)`` or None.
KERNELS: tuple[Any, ...] = (*POLYNOMIALS, FourierKernel, RbfKernel, RationalKernel)


def _split_mix(expr: Any) -> tuple[Any, Any]:
    """``(body, m)`` for ``body + m*Max(0, x)`` with a parameter ``m``, else ``(expr, None)``."""
    relu = sympy.Max(0, X)
    terms = sympy.Add.make_args(expr)
    mixes = [
        t
        for t in terms
        if isinstance(t, sympy.Mul)
        and len(t.args) == 2
        and relu in t.args
        and any(isinstance(a, sympy.Symbol) and a != X for a in t.args)
    ]
    if len(mixes) != 1 or len(terms) < 2:
        return expr, None
    m = next(a for a in mixes[0].args if a != relu)
    return sympy.Add(*(t for t in terms if t is not mixes[0])), m


@functools.lru_cache(maxsize=256)
def match_kernel(expr: Any) -> tuple[BaseKernel, tuple[str, ...]] | None:
    """The kernel that computes ``expr`` and its parameters' names in the kernel's input order.

    >>> from afsearch.expr import chebyshev_series, symbol
    >>> kernel, names = match_kernel(chebyshev_series(X / 2, symbol("a0"), symbol("a1")))
    >>> type(kernel).__name__, kernel.scale, names
    ('ChebyshevKernel', 0.5, ('a0', 'a1'))
    """
    body, mix = _split_mix(expr)
    params = {s.name for s in expr.free_symbols} - {X.name}
    for cls in KERNELS:
        found = cls.match(body)
        if found is None:
            continue
        kernel, coeffs = found
        names = [s.name for s in coeffs]
        if mix is not None:
            kernel = dataclasses.replace(kernel, mix=True)
            names.append(mix.name)
        if len(set(names)) != len(names) or set(names) != params:
            return None
        return kernel, tuple(names)
    return None
