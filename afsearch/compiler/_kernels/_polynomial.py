"""Power, Chebyshev and Legendre expansions (SLAF), with SLAF's linear tail.

``g(x) = S(u)`` with ``S(u) = sum_k a_k phi_k(u)`` and ``u = scale * x`` or ``tanh(x)``; with a
tail at ``edge``, ``g(x) = S(u(c)) + scale * S'(u(c)) * (x - c)`` for ``c = clamp(x, -edge,
edge)`` (the tangent continued outside the interval). The value runs by Horner's rule or
Clenshaw's recurrence (with the derivative alongside where the tail needs it); the backward
runs the basis recurrence once, giving ``phi_k`` and ``phi_k'`` together, from which come
``S'`` (for the input's gradient) and every coefficient's gradient.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import sympy
import torch

from afsearch.compiler._kernels._base import BaseKernel, Tensor, full
from afsearch.expr import X, chebyshev_series, legendre_series, power_series


@dataclass(frozen=True, kw_only=True)
class PolynomialKernel(BaseKernel):
    """A series in ``u``; subclasses give the basis's recurrences."""

    series: ClassVar[type]
    degree: int
    scale: float = 1.0
    #: The linear tail's edge, or None without a tail.
    edge: float | None = None
    #: ``u = tanh(x)`` (SLAF's ``normalize: tanh``) instead of ``scale * x``.
    tanh: bool = False

    @property
    def size(self) -> int:
        return self.degree + 1

    @abc.abstractmethod
    def value_and_slope(self, u: Tensor, a: Sequence[Any], slope: bool) -> tuple[Any, Any]:
        """``S(u)`` and, if ``slope``, ``S'(u)`` (Horner or Clenshaw)."""

    @abc.abstractmethod
    def basis(self, u: Tensor) -> Iterator[tuple[Any, Any]]:
        """``(phi_k(u), phi_k'(u))`` for ``k = 2 .. degree`` (``phi_0 = 1``, ``phi_1 = u``)."""

    def _input(self, x: Tensor) -> tuple[Tensor, Tensor]:
        c = x if self.edge is None else x.clamp(-self.edge, self.edge)
        if self.tanh:
            return c, torch.tanh(x)
        return c, c if self.scale == 1.0 else c * self.scale

    def value(self, x: Tensor, cs: Sequence[Any]) -> Tensor:
        c, u = self._input(x)
        s, ds = self.value_and_slope(u, cs, self.edge is not None)
        if self.edge is None:
            return full(s, x)
        return s + ds * ((x - c) * self.scale)

    def gradients(
        self, x: Tensor, grad: Tensor, cs: Sequence[Any], coeffs: bool
    ) -> tuple[Tensor, list[Tensor] | None]:
        c, u = self._input(x)
        grads: list[Tensor] | None = None
        if not coeffs:
            ds = self.value_and_slope(u, cs, True)[1]
        else:
            # d/da_k of the tail term scale * S'(u) * (x - c) is r * phi_k'(u).
            r = None if self.edge is None else grad * ((x - c) * self.scale)
            grads = [grad.sum()]
            if self.degree >= 1:
                ds = cs[1]
                grads.append((grad * u if r is None else grad * u + r).sum())
            for k, (phi, dphi) in enumerate(self.basis(u), start=2):
                ds = ds + cs[k] * dphi
                grads.append((grad * phi if r is None else grad * phi + r * dphi).sum())
            if self.degree == 0:
                ds = torch.zeros_like(x)
        du = 1 - u * u if self.tanh else self.scale
        return grad * (ds * du), grads

    @classmethod
    def match(cls, body: Any) -> tuple[BaseKernel, tuple[Any, ...]] | None:
        """The kernel of ``body`` and its coefficient symbols in basis order, if ``body`` is
        ``series(u, a_0, ..., a_n)`` with ``u = k*x`` or ``tanh(x)``, or that series with
        SLAF's linear tail (``u = k*clamp(x, -e, e)``, the tangent at the edge outside)."""
        # The value's series has plain symbols as coefficients; so may the tail's derivative
        # series at degree 1, which has one coefficient fewer.
        nodes = sorted(
            (n for n in body.atoms(cls.series) if coefficient_symbols(n.args[1:])),
            key=lambda n: -len(n.args),
        )
        if not nodes or (len(nodes) > 1 and len(nodes[1].args) == len(nodes[0].args)):
            return None
        u, coeffs = nodes[0].args[0], tuple(nodes[0].args[1:])
        degree = len(coeffs) - 1
        if u == sympy.tanh(X):
            found: BaseKernel = cls(degree=degree, tanh=True)
            return (found, coeffs) if nodes[0] == body else None
        k, rest = u.as_coeff_Mul()
        edge = None if rest == X else clamp_edge(rest)
        if not (k.is_Number and k > 0) or (rest != X and edge is None):
            return None
        base = cls.series(k * X, *coeffs)
        expected = base
        if edge is not None:
            tail = sympy.diff(base, X).xreplace({X: rest}) * (X - rest)
            expected = base.xreplace({X: rest}) + tail
        if expected != body:
            return None
        found = cls(degree=degree, scale=float(k), edge=None if edge is None else float(edge))
        return found, coeffs


def coefficient_symbols(args: Sequence[Any]) -> bool:
    """Whether ``args`` are distinct parameter symbols (coefficients, not ``x``)."""
    plain = all(isinstance(a, sympy.Symbol) and a != X for a in args)
    return plain and len(set(args)) == len(args)


def clamp_edge(e: Any) -> Any:
    """``edge`` if ``e`` is ``Max(-edge, Min(x, edge))`` for a positive number ``edge``."""
    if not isinstance(e, sympy.Max) or len(e.args) != 2:
        return None
    low = next((a for a in e.args if a.is_Number), None)
    if low is None or not low < 0:
        return None
    edge = -low
    return edge if e == sympy.Max(low, sympy.Min(X, edge)) else None


@dataclass(frozen=True, kw_only=True)
class PowerKernel(PolynomialKernel):
    series = power_series

    def value_and_slope(self, u: Tensor, a: Sequence[Any], slope: bool) -> tuple[Any, Any]:
        p: Any = a[-1]
        dp: Any = 0.0
        for k in range(self.degree - 1, -1, -1):
            if slope:
                dp = dp * u + p
            p = torch.addcmul(a[k], p, u)
        return p, dp

    def basis(self, u: Tensor) -> Iterator[tuple[Any, Any]]:
        p = u
        for k in range(2, self.degree + 1):
            p, dp = p * u, k * p
            yield p, dp


@dataclass(frozen=True, kw_only=True)
class ChebyshevKernel(PolynomialKernel):
    series = chebyshev_series

    def value_and_slope(self, u: Tensor, a: Sequence[Any], slope: bool) -> tuple[Any, Any]:
        n = self.degree
        if n == 0:
            return a[0], 0.0
        u2 = 2 * u
        b1: Any = a[n]
        b2: Any = 0.0
        d1: Any = 0.0
        d2: Any = 0.0
        for k in range(n - 1, 0, -1):
            if slope:
                d1, d2 = 2 * b1 + u2 * d1 - d2, d1
            b1, b2 = torch.addcmul(a[k] - b2, u2, b1), b1
        s = torch.addcmul(a[0] - b2, u, b1)
        return s, (b1 + u * d1 - d2 if slope else None)

    def basis(self, u: Tensor) -> Iterator[tuple[Any, Any]]:
        t0: Any = 1.0
        t1: Any = u
        d0: Any = 0.0
        d1: Any = 1.0
        u2 = 2 * u
        for _ in range(2, self.degree + 1):
            t0, t1, d0, d1 = t1, u2 * t1 - t0, d1, 2 * t1 + u2 * d1 - d0
            yield t1, d1


@dataclass(frozen=True, kw_only=True)
class LegendreKernel(PolynomialKernel):
    series = legendre_series

    def value_and_slope(self, u: Tensor, a: Sequence[Any], slope: bool) -> tuple[Any, Any]:
        # b_k = a_k + alpha_k b_{k+1} + beta_{k+2} b_{k+2}, alpha_k = (2k+1) u / (k+1),
        # beta_{k+2} = -(k+1)/(k+2); S = a_0 + u b_1 - b_2 / 2, and the same for S'.
        n = self.degree
        if n == 0:
            return a[0], 0.0
        b1: Any = a[n]
        b2: Any = 0.0
        d1: Any = 0.0
        d2: Any = 0.0
        for k in range(n - 1, 0, -1):
            alpha, beta = (2 * k + 1) / (k + 1), -(k + 1) / (k + 2)
            if slope:
                d1, d2 = alpha * (b1 + u * d1) + beta * d2, d1
            b1, b2 = torch.addcmul(a[k] + beta * b2, u, b1, value=alpha), b1
        s = torch.addcmul(a[0] - 0.5 * b2, u, b1)
        return s, (b1 + u * d1 - 0.5 * d2 if slope else None)

    def basis(self, u: Tensor) -> Iterator[tuple[Any, Any]]:
        # P_k = ((2k-1) u P_{k-1} - (k-1) P_{k-2}) / k, P_k' = P_{k-2}' + (2k-1) P_{k-1}.
        p0: Any = 1.0
        p1: Any = u
        d0: Any = 0.0
        d1: Any = 1.0
        for k in range(2, self.degree + 1):
            p0, p1 = p1, ((2 * k - 1) * u * p1 - (k - 1) * p0) / k
            d0, d1 = d1, d0 + (2 * k - 1) * p0
            yield p1, d1


POLYNOMIALS: tuple[type[PolynomialKernel], ...] = (PowerKernel, ChebyshevKernel, LegendreKernel)
