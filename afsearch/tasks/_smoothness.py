"""Whether a candidate activation has the derivatives a task takes.

A physics-informed network puts second derivatives of the network into its loss, and those are
derivatives of the activation: ReLU's second derivative is zero almost everywhere, so a ReLU
network cannot fit ``u'' = f`` at all. A task says how many derivatives it takes
(:attr:`BaseTask.derivatives <afsearch.tasks.BaseTask.derivatives>`), and a candidate is refused
before training when its SymPy expression, or one of its derivatives up to that order, contains
a node with a kink or a jump. The rule is conservative: ``x*Abs(x)`` has one continuous
derivative, yet its first derivative contains ``Abs`` and ``sign``, so it is refused for a task
that takes one.

>>> from afsearch.expr import KNOWN, X
>>> not_smooth_reason(KNOWN["relu"](X), 2)
'its derivatives up to order 2 contain DiracDelta, Heaviside, Max'
>>> not_smooth_reason(KNOWN["tanh"](X), 2) is None
True
"""

from __future__ import annotations

import functools
from typing import Any

import sympy

from afsearch.expr import X

#: SymPy nodes with a kink or a jump (Piecewise: its branches may not join smoothly).
NOT_SMOOTH: tuple[type, ...] = (
    sympy.Max,
    sympy.Min,
    sympy.Abs,
    sympy.sign,
    sympy.Heaviside,
    sympy.DiracDelta,
    sympy.Piecewise,
    sympy.floor,
    sympy.ceiling,
    sympy.frac,
)


@functools.lru_cache(maxsize=1024)
def not_smooth_reason(expr: Any, order: int) -> str | None:
    """Why ``expr`` (in :data:`~afsearch.expr.X`) lacks ``order`` continuous derivatives, or None.

    ``order`` 0 accepts everything. Otherwise the expression and its derivatives in ``x`` up
    to ``order`` are searched for the nodes of :data:`NOT_SMOOTH`; the reason names those found.
    """
    if order <= 0:
        return None
    found: set[str] = set()
    derivative = expr
    for k in range(order + 1):
        found |= {
            type(node).__name__
            for node in sympy.preorder_traversal(derivative)
            if isinstance(node, NOT_SMOOTH)
        }
        if k < order:
            try:
                derivative = sympy.diff(derivative, X)
            except Exception:  # SymPy cannot differentiate it: judge by what was seen
                break
    if not found:
        return None
    return f"its derivatives up to order {order} contain {', '.join(sorted(found))}"
