"""A candidate activation: one SymPy expression in ``x`` with named scalar parameters."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy
from sympy.printing.str import StrPrinter

from afsearch.exceptions import AfsearchError

if TYPE_CHECKING:
    from afsearch.compiler import CompiledActivation

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


@dataclass(frozen=True)
class Param:
    """A scalar parameter: its value and whether training may change it."""

    value: float
    trainable: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise AfsearchError(f"A parameter value must be a number, got {self.value!r}.")
        if not math.isfinite(self.value):
            raise AfsearchError(f"A parameter value must be finite, got {self.value!r}.")
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True)
class Candidate:
    """An activation function: ``expr`` in :data:`X` and the parameters it uses.

    >>> from afsearch.activations import build
    >>> c = build({"family": "swish", "beta": 1.5})
    >>> str(c.expr), c.params["beta"].value
    ('x*sigmoid(beta*x)', 1.5)
    """

    expr: Any
    params: Mapping[str, Param] = field(default_factory=dict)
    family: str = "expression"
    config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        expr = sympy.sympify(self.expr) if not isinstance(self.expr, sympy.Basic) else self.expr
        object.__setattr__(self, "expr", expr)
        names = {s.name for s in expr.free_symbols} - {"x"}
        missing = names - set(self.params)
        if missing:
            raise AfsearchError(
                f"The expression {expr} uses {', '.join(sorted(missing))} without a value; "
                "give each parameter a value."
            )
        # Keep only parameters the expression uses, in a stable order.
        ordered = {n: self.params[n] for n in sorted(names)}
        object.__setattr__(self, "params", ordered)
        for s in expr.free_symbols:
            if s.name == "x" and s != X:
                expr = expr.xreplace({s: X})
        object.__setattr__(self, "expr", expr)

    @property
    def symbols(self) -> list[sympy.Symbol]:
        return [symbol(n) for n in self.params]

    @property
    def values(self) -> dict[str, float]:
        return {n: p.value for n, p in self.params.items()}

    @property
    def trainable(self) -> list[str]:
        return [n for n, p in self.params.items() if p.trainable]

    @property
    def text(self) -> str:
        return to_text(self.expr)

    def substituted(self) -> Any:
        """The expression with every parameter replaced by its value."""
        return self.expr.xreplace({symbol(n): sympy.Float(v) for n, v in self.values.items()})

    def with_values(self, values: Mapping[str, float]) -> Candidate:
        params = {
            n: Param(float(values.get(n, p.value)), p.trainable) for n, p in self.params.items()
        }
        return Candidate(self.expr, params, self.family, self.config)

    def to_module(self, dtype: Any = None) -> CompiledActivation:
        """A ``torch.nn.Module`` computing this activation (parameters in ``dtype``)."""
        from afsearch.compiler import CompiledActivation

        return CompiledActivation(self, dtype=dtype)

    @property
    def id(self) -> str:
        from afsearch.activations._identity import activation_id

        return activation_id(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description; :meth:`from_dict` reads it back through the safe parser."""
        return {
            "expression": self.text,
            "params": {
                n: {"value": p.value, "trainable": p.trainable} for n, p in self.params.items()
            },
            "family": self.family,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        from afsearch.activations._parse import parse_expression

        try:
            raw = data["expression"]
            params = {
                str(n): Param(p["value"], bool(p.get("trainable", False)))
                for n, p in dict(data.get("params", {})).items()
            }
        except (KeyError, TypeError, AttributeError) as exc:
            raise AfsearchError(
                "A stored activation must have 'expression' and 'params' of the form "
                "{name: {'value': number, 'trainable': bool}}."
            ) from exc
        expr = parse_expression(raw, params=params)
        return cls(expr, params, str(data.get("family", "expression")))
