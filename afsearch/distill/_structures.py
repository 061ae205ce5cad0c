"""The shapes a distilled formula takes, and how many nodes each has.

A shape combines operators (:class:`~afsearch.distill._library.Primitive`) whose arguments carry
their own affine scalars; the outer scalars are linear and are solved for, not searched:

========  ===========================================  =====
kind      formula                                      nodes
========  ===========================================  =====
unit      a*f(b*x + c) + d                             2 (x alone: 1)
compose   a*f(b2*g(b1*x + c1) + c2) + d                3
add       a1*f(b1*x + c1) + a2*g(b2*x + c2) + d        1 + the units'
          (or three units: a1*f(...) + a2*g(...) +    2 + the units'
          a3*h(...) + d)
mul       a*f(b1*x + c1)*g(b2*x + c2) + d              1 + the units'
========  ===========================================  =====

Nodes count operators and leaves ``x``, not the affine scalars (pykan's ``a*f(b*x + c) + d``
is one operator on x: 2 nodes; ``x*sigmoid(1.7*x)`` is mul, x, sigmoid and x: 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from afsearch.distill._library import Primitive, factor, number, scaled

UNIT, COMPOSE, ADD, MUL = "unit", "compose", "add", "mul"


def _unit_nodes(p: Primitive) -> int:
    return 1 if p.name == "x" else 2


@dataclass(frozen=True)
class Shape:
    """One shape: its kind and operators (``compose``: ``(f, g)`` is f(g(x)))."""

    kind: str
    ops: tuple[Primitive, ...]

    @property
    def nodes(self) -> int:
        if self.kind == UNIT:
            return _unit_nodes(self.ops[0])
        if self.kind == COMPOSE:
            return 1 + _unit_nodes(self.ops[1])
        # A sum of n units has n - 1 binary operators.
        return len(self.ops) - 1 + sum(_unit_nodes(p) for p in self.ops)

    @property
    def width(self) -> int:
        """How many inner (searched) scalars it has."""
        return sum(p.width for p in self.ops)

    @property
    def label(self) -> str:
        """``tanh``, ``tanh(softplus)``, ``mul(x, sigmoid)``."""
        names = [p.name for p in self.ops]
        if self.kind == UNIT:
            return names[0]
        if self.kind == COMPOSE:
            return f"{names[0]}({names[1]})"
        return f"{self.kind}({', '.join(names)})"

    @property
    def operators(self) -> tuple[str, ...]:
        """The operator names it uses, the binary one first."""
        names = tuple(p.name for p in self.ops)
        return (self.kind, *names) if self.kind in (ADD, MUL) else names

    def split(self, theta: np.ndarray) -> list[np.ndarray]:
        """``theta`` cut into each operator's scalars (leading grid dimensions kept)."""
        out, k = [], 0
        for p in self.ops:
            out.append(theta[..., k : k + p.width])
            k += p.width
        return out

    def columns(self, theta: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
        """The functions the outer (linear) scalars multiply, at ``x``."""
        parts = self.split(theta)
        if self.kind == UNIT:
            return [self.ops[0](parts[0], x)]
        if self.kind == COMPOSE:
            f, g = self.ops
            return [f(parts[0], g(parts[1], x))]
        units = [p(t, x) for p, t in zip(self.ops, parts)]
        if self.kind == ADD:
            return units
        return [units[0] * units[1]]

    def text(self, theta: tuple[float, ...], outer: tuple[float, ...], digits: int) -> str:
        """The formula with its scalars as parseable text; ``outer`` is the linear scalars
        followed by the constant."""
        parts = [tuple(float(v) for v in t) for t in self.split(np.asarray(theta, dtype=float))]
        if self.kind == COMPOSE:
            f, g = self.ops
            terms = [f.text(parts[0], g.text(parts[1], "x", digits), digits)]
        else:
            terms = [p.text(t, "x", digits) for p, t in zip(self.ops, parts)]
        if self.kind == MUL:
            terms = ["*".join(factor(t) for t in terms)]
        pieces = [scaled(a, term, digits) for a, term in zip(outer[:-1], terms)]
        constant = number(outer[-1], digits)
        if float(constant) != 0.0 or not pieces:
            pieces.append(constant)
        # Positive terms first (a leading minus reads as an option on a command line), each
        # group in its own order.
        pieces.sort(key=lambda piece: piece.startswith("-"))
        body = pieces[0]
        for piece in pieces[1:]:
            body += f" - {piece[1:]}" if piece.startswith("-") else f" + {piece}"
        return body
