"""The input symbol, parameter symbols, and expression text that reads back exactly."""

from __future__ import annotations

import re
from typing import Any

import sympy
from sympy.printing.str import StrPrinter

from afsearch.exceptions import AfsearchError

#: The input symbol of every activation. Real, so that SymPy differentiates |x| as sign(x).
X = sympy.Symbol("x", real=True)

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")


class _Printer(StrPrinter):
    """SymPy's str() with floats printed so they read back exactly (shortest repr)."""

    def _print_Float(self, expr: Any) -> str:
        return repr(float(expr))


def to_text(expr: Any) -> str:
    """The expression as text that :func:`afsearch.activations.parse_expression` reads back."""
    return _Printer().doprint(expr)


def symbol(name: str) -> sympy.Symbol:
    """The real SymPy symbol for a parameter name (validated)."""
    if not _NAME.match(name) or name == "x":
        raise AfsearchError(
            f"The parameter name {name!r} is not valid; use a letter followed by up to 47 "
            "letters, digits or underscores, other than 'x'."
        )
    return sympy.Symbol(name, real=True)
