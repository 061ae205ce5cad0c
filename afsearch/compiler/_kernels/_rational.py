"""Padé activation units (``family: rational``): ``P(x) / (1 + |x Q(x)|)``.

``P(x) = sum_{i=0..m} a_i x**i`` and ``A(x) = x Q(x) = sum_{j=1..n} b_j x**j`` run by Horner's
rule with their derivatives alongside; with ``D = 1 + |A|`` and ``y = P / D``,
``dy/dx = (P' - y sign(A) A') / D``, ``dy/da_i = x**i / D`` and
``dy/db_j = -y sign(A) x**j / D`` (SymPy's ``d|A|/dA = sign(A)``, 0 at 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from afsearch.compiler._kernels._base import BaseKernel, Tensor, full
from afsearch.compiler._kernels._polynomial import coefficient_symbols
from afsearch.expr import X, power_series


def horner(x: Tensor, a: Sequence[Any], slope: bool) -> tuple[Any, Any]:
    """``sum_k a_k x**k`` and, if ``slope``, its derivative."""
    p: Any = a[-1]
    dp: Any = 0.0
    for k in range(len(a) - 2, -1, -1):
        if slope:
            dp = dp * x + p
        p = torch.addcmul(a[k], p, x)
    return p, dp


@dataclass(frozen=True, kw_only=True)
class RationalKernel(BaseKernel):
    m: int
    n: int

    @property
    def size(self) -> int:
        return self.m + 1 + self.n

    def _parts(self, x: Tensor, cs: Sequence[Any]) -> tuple[Any, Any, Tensor, Tensor, Any]:
        a, b = cs[: self.m + 1], cs[self.m + 1 :]
        p, dp = horner(x, a, True)
        q, dq = horner(x, b, True)
        big_a, d_big_a = x * q, q + x * dq
        return p, dp, big_a, 1 + big_a.abs(), d_big_a

    def value(self, x: Tensor, cs: Sequence[Any]) -> Tensor:
        a, b = cs[: self.m + 1], cs[self.m + 1 :]
        p = horner(x, a, False)[0]
        return full(p / (1 + (x * horner(x, b, False)[0]).abs()), x)

    def gradients(
        self, x: Tensor, grad: Tensor, cs: Sequence[Any], coeffs: bool
    ) -> tuple[Tensor, list[Tensor] | None]:
        p, dp, big_a, den, d_big_a = self._parts(x, cs)
        y_sign = p / den * torch.sign(big_a)
        grad_x = grad * ((dp - y_sign * d_big_a) / den)
        if not coeffs:
            return grad_x, None
        w = grad / den
        v = -w * y_sign
        grads_a, grads_b = [w.sum()], []
        power: Tensor = x
        for i in range(1, max(self.m, self.n) + 1):
            if i <= self.m:
                grads_a.append((w * power).sum())
            if i <= self.n:
                grads_b.append((v * power).sum())
            power = power * x
        grads = grads_a + grads_b
        return grad_x, grads

    @classmethod
    def match(cls, body: Any) -> tuple[BaseKernel, tuple[Any, ...]] | None:
        """``power_series(x, a...) / (1 + Abs(x*power_series(x, b...)))``, as the rational
        family builds it."""
        nodes = [
            n
            for n in body.atoms(power_series)
            if n.args[0] == X and coefficient_symbols(n.args[1:])
        ]
        if len(nodes) != 2:
            return None
        for num, den in (nodes, nodes[::-1]):
            if body == num / (1 + abs(X * den)):
                a, b = tuple(num.args[1:]), tuple(den.args[1:])
                return cls(m=len(a) - 1, n=len(b)), a + b
        return None
