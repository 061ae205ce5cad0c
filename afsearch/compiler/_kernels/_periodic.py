"""SLAF's Fourier and Gaussian-RBF expansions, in ``v = x`` or ``v = tanh(x)``.

Fourier: ``a_0 + sum_k a_k cos(k w v) + b_k sin(k w v)``, the harmonics by the angle-addition
recurrence from one ``cos`` and one ``sin``. RBF: ``a_0 + a_1 s v + sum_j r_j exp(A_j (v -
c_j)**2 + C_j)`` (SLAF's ``exp(-((u - c)/w)**2)`` with ``u`` expanded in ``v``). Neither has a
tail: both are bounded or linear outside their interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy
import torch

from afsearch.compiler._kernels._base import BaseKernel, Tensor, full
from afsearch.expr import X


def _input(x: Tensor, tanh: bool) -> tuple[Tensor, Any]:
    """``v`` and ``dv/dx``."""
    if not tanh:
        return x, 1.0
    v = torch.tanh(x)
    return v, 1 - v * v


def _split(body: Any) -> tuple[Any, list[tuple[Any, Any]]] | None:
    """The one bare coefficient of a sum and its other terms as ``(coefficient, rest)``."""
    bare, terms = [], []
    for t in sympy.Add.make_args(body):
        if isinstance(t, sympy.Symbol) and t != X:
            bare.append(t)
            continue
        syms = [f for f in sympy.Mul.make_args(t) if isinstance(f, sympy.Symbol) and f != X]
        if len(syms) != 1:
            return None
        terms.append((syms[0], t / syms[0]))
    return (bare[0], terms) if len(bare) == 1 else None


def _variable(e: Any) -> Any:
    return sympy.tanh(X) if e.has(sympy.tanh) else X


def _number(e: Any) -> float | None:
    if e.free_symbols:
        return None
    try:
        return float(e)
    except TypeError:
        return None


def _gaussian(q: Any, v: Any) -> tuple[float, float, float] | None:
    """``(A, c, C)`` with ``q = A (v - c)**2 + C`` and ``A < 0``, if ``q`` is such a quadratic."""
    try:
        poly = sympy.Poly(q, v)
    except sympy.PolynomialError:
        return None
    coeffs = [_number(c) for c in poly.all_coeffs()]
    if poly.degree() != 2:
        return None
    a, b, c = coeffs
    if a is None or b is None or c is None or not a < 0:
        return None
    centre = -b / (2 * a)
    return a, centre, c - a * centre * centre


@dataclass(frozen=True, kw_only=True)
class FourierKernel(BaseKernel):
    degree: int
    freq: float
    tanh: bool = False

    @property
    def size(self) -> int:
        return 2 * self.degree + 1

    def _harmonics(self, v: Tensor) -> list[tuple[Tensor, Tensor]]:
        theta = v * self.freq
        c1, s1 = torch.cos(theta), torch.sin(theta)
        out = [(c1, s1)]
        for _ in range(2, self.degree + 1):
            c, s = out[-1]
            out.append((c * c1 - s * s1, s * c1 + c * s1))
        return out

    def value(self, x: Tensor, cs: Sequence[Any]) -> Tensor:
        d = self.degree
        y: Any = cs[0]
        for k, (c, s) in enumerate(self._harmonics(_input(x, self.tanh)[0]), start=1):
            y = y + cs[k] * c + cs[d + k] * s
        return full(y, x)

    def gradients(
        self, x: Tensor, grad: Tensor, cs: Sequence[Any], coeffs: bool
    ) -> tuple[Tensor, list[Tensor] | None]:
        d = self.degree
        v, dv = _input(x, self.tanh)
        slope: Any = 0.0
        cos_grads, sin_grads = [], []
        for k, (c, s) in enumerate(self._harmonics(v), start=1):
            slope = slope + k * (cs[d + k] * c - cs[k] * s)
            if coeffs:
                cos_grads.append((grad * c).sum())
                sin_grads.append((grad * s).sum())
        grad_x = grad * (slope * (self.freq * dv))
        return grad_x, ([grad.sum(), *cos_grads, *sin_grads] if coeffs else None)

    @classmethod
    def match(cls, body: Any) -> tuple[BaseKernel, tuple[Any, ...]] | None:
        split = _split(body)
        if split is None:
            return None
        a0, terms = split
        found: dict[type, list[tuple[float, Any]]] = {sympy.cos: [], sympy.sin: []}
        v = None
        for sym, rest in terms:
            if type(rest) not in found:
                return None
            arg = rest.args[0]
            if v is None:
                v = _variable(arg)
            w = _number(arg / v)
            if w is None or w <= 0 or _variable(arg) != v:
                return None
            found[type(rest)].append((w, sym))
        cos, sin = sorted(found[sympy.cos]), sorted(found[sympy.sin])
        if not cos or len(cos) != len(sin):
            return None
        w1 = cos[0][0]
        for k, ((wc, _), (ws, _)) in enumerate(zip(cos, sin), start=1):
            if not all(math.isclose(w, k * w1, rel_tol=1e-12) for w in (wc, ws)):
                return None
        kernel = cls(degree=len(cos), freq=w1, tanh=v != X)
        return kernel, (a0, *(s for _, s in cos), *(s for _, s in sin))


@dataclass(frozen=True, kw_only=True)
class RbfKernel(BaseKernel):
    #: ``s`` of the linear term ``a_1 s v``.
    linear: float
    #: ``(A_j, c_j, C_j)`` of each bump ``exp(A_j (v - c_j)**2 + C_j)``, ``A_j < 0``.
    bumps: tuple[tuple[float, float, float], ...]
    tanh: bool = False

    @property
    def size(self) -> int:
        return 2 + len(self.bumps)

    def _bumps(self, v: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Each bump and ``v - c_j``."""
        out = []
        for a, c, const in self.bumps:
            t = v - c
            out.append((torch.exp(a * t * t + const), t))
        return out

    def value(self, x: Tensor, cs: Sequence[Any]) -> Tensor:
        v = _input(x, self.tanh)[0]
        y: Any = cs[0] + cs[1] * (self.linear * v)
        for r, (e, _) in zip(cs[2:], self._bumps(v)):
            y = y + r * e
        return full(y, x)

    def gradients(
        self, x: Tensor, grad: Tensor, cs: Sequence[Any], coeffs: bool
    ) -> tuple[Tensor, list[Tensor] | None]:
        v, dv = _input(x, self.tanh)
        slope: Any = cs[1] * self.linear
        grads = [grad.sum(), (grad * v).sum() * self.linear] if coeffs else []
        for r, (a, _, _), (e, t) in zip(cs[2:], self.bumps, self._bumps(v)):
            slope = slope + r * (2 * a) * (e * t)
            if coeffs:
                grads.append((grad * e).sum())
        return grad * (slope * dv), (grads if coeffs else None)

    @classmethod
    def match(cls, body: Any) -> tuple[BaseKernel, tuple[Any, ...]] | None:
        split = _split(body)
        if split is None:
            return None
        a0, terms = split
        linear, bumps = [], []
        for sym, rest in terms:
            if isinstance(rest, sympy.exp):
                v = _variable(rest.args[0])
                bump = _gaussian(rest.args[0], v)
                if bump is None:
                    return None
                bumps.append((bump, sym, v))
            else:
                v = _variable(rest)
                s = _number(rest / v)
                if s is None or s == 0:
                    return None
                linear.append((s, sym, v))
        if len(linear) != 1 or not bumps or {v for *_, v in linear + bumps} != {linear[0][2]}:
            return None
        bumps.sort(key=lambda b: b[0])
        kernel = cls(
            linear=linear[0][0], bumps=tuple(b for b, _, _ in bumps), tanh=linear[0][2] != X
        )
        return kernel, (a0, linear[0][1], *(s for _, s, _ in bumps))
