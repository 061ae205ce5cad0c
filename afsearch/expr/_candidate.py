"""A candidate activation: one SymPy expression in ``x`` with named scalar parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy

from afsearch.exceptions import AfsearchError
from afsearch.expr._parse import parse_expression
from afsearch.expr._symbols import X, symbol, to_text


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

    >>> beta = symbol("beta")
    >>> c = Candidate(X * beta, {"beta": Param(1.5, trainable=True)}, "swish")
    >>> c.text, c.trainable
    ('beta*x', ['beta'])
    """

    expr: Any
    params: Mapping[str, Param] = field(default_factory=dict)
    family: str = "expression"
    #: The family config the candidate was built from (empty for a parsed expression).
    built_from: Mapping[str, Any] = field(default_factory=dict)
    #: Each trainable parameter holds one value per channel of the site's input (PReLU and
    #: PAU practice); the values here are every channel's initial value.
    per_channel: bool = False

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
        return Candidate(self.expr, params, self.family, self.built_from, self.per_channel)

    def to_dict(self) -> dict[str, Any]:
        """The candidate as data: the one form it is stored and sent in.

        :meth:`from_dict` reads it back through the allow-list parser.

        >>> Candidate(X * sympy.Symbol("a", real=True), {"a": Param(2.0)}).to_dict()["params"]
        {'a': {'value': 2.0, 'trainable': False}}
        """
        data: dict[str, Any] = {
            "expression": self.text,
            "params": {
                n: {"value": p.value, "trainable": p.trainable} for n, p in self.params.items()
            },
            "family": self.family,
        }
        if self.per_channel:
            data["per_channel"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
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
        family = str(data.get("family", "expression"))
        return cls(expr, params, family, per_channel=data.get("per_channel") is True)
