"""SymPy functions that afsearch adds to SymPy's own.

``sigmoid`` and ``softplus`` keep expressions short and map to torch's stable kernels. The series
functions ``power_series(u, a0, ..., an)``, ``chebyshev_series`` and ``legendre_series`` stand
for ``sum_k a_k phi_k(u)`` so that the compiler can evaluate them by Horner's rule or Clenshaw's
recurrence instead of a naive sum of powers; ``expand_series`` rewrites them as plain sums.
Each defines its derivatives, so SymPy can differentiate any candidate symbolically.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy import Function, S


class sigmoid(Function):
    """The logistic function 1/(1+exp(-u))."""

    nargs = 1

    @classmethod
    def eval(cls, u: Any) -> Any:
        if u.is_zero:
            return S.Half
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, u: Any, **kwargs: Any) -> Any:
        return 1 / (1 + sympy.exp(-u))

    def _eval_evalf(self, prec: int) -> Any:
        return self._eval_rewrite_as_exp(self.args[0])._eval_evalf(prec)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


class softplus(Function):
    """log(1+exp(u))."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> Any:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, u: Any, **kwargs: Any) -> Any:
        return sympy.log(1 + sympy.exp(u))

    def _eval_evalf(self, prec: int) -> Any:
        u = self.args[0]._eval_evalf(prec)
        if u is None:
            return None
        # log1p-style evaluation that neither overflows nor loses the tail.
        return (sympy.Max(u, 0) + sympy.log(1 + sympy.exp(-abs(u))))._eval_evalf(prec)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


class _Series(Function):
    """sum_k a_k phi_k(u) with the argument first and the coefficients after it."""

    nargs = None

    @classmethod
    def basis(cls, k: int, u: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def derivative_coefficients(cls, coeffs: list[Any]) -> list[Any]:
        raise NotImplementedError

    @classmethod
    def eval(cls, *args: Any) -> Any:
        if len(args) < 2:
            raise TypeError(f"{cls.__name__} needs an argument and at least one coefficient")
        if all(a.is_zero for a in args[1:]):
            return S.Zero
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        u, *coeffs = self.args
        if argindex == 1:
            der = self.derivative_coefficients(list(coeffs))
            if not der or all(d == 0 for d in der):
                return S.Zero
            return type(self)(u, *der)
        return self.basis(argindex - 2, u)

    def expand_sum(self) -> Any:
        u, *coeffs = self.args
        return sympy.Add(*[c * self.basis(k, u) for k, c in enumerate(coeffs)])

    def _eval_evalf(self, prec: int) -> Any:
        return self.expand_sum()._eval_evalf(prec)

    def _eval_is_real(self) -> Any:
        return all(a.is_real for a in self.args) or None


class power_series(_Series):
    """sum_k a_k u**k, evaluated by Horner's rule."""

    @classmethod
    def basis(cls, k: int, u: Any) -> Any:
        return u**k

    @classmethod
    def derivative_coefficients(cls, coeffs: list[Any]) -> list[Any]:
        return [k * c for k, c in enumerate(coeffs)][1:]


class chebyshev_series(_Series):
    """sum_k a_k T_k(u) with Chebyshev polynomials of the first kind, evaluated by Clenshaw."""

    @classmethod
    def basis(cls, k: int, u: Any) -> Any:
        return sympy.chebyshevt(k, u)

    @classmethod
    def derivative_coefficients(cls, coeffs: list[Any]) -> list[Any]:
        # The recurrence of numpy.polynomial.chebyshev.chebder, on symbolic coefficients.
        n = len(coeffs) - 1
        if n < 1:
            return []
        c = list(coeffs)
        der: list[Any] = [S.Zero] * n
        for j in range(n, 2, -1):
            der[j - 1] = 2 * j * c[j]
            c[j - 2] += j * c[j] / (j - 2)
        if n > 1:
            der[1] = 4 * c[2]
        der[0] = c[1]
        return [sympy.expand(d) for d in der]


class legendre_series(_Series):
    """sum_k a_k P_k(u) with Legendre polynomials, evaluated by Clenshaw."""

    @classmethod
    def basis(cls, k: int, u: Any) -> Any:
        return sympy.legendre(k, u)

    @classmethod
    def derivative_coefficients(cls, coeffs: list[Any]) -> list[Any]:
        # The recurrence of numpy.polynomial.legendre.legder, on symbolic coefficients.
        n = len(coeffs) - 1
        if n < 1:
            return []
        c = list(coeffs)
        der: list[Any] = [S.Zero] * n
        for j in range(n, 2, -1):
            der[j - 1] = (2 * j - 1) * c[j]
            c[j - 2] += c[j]
        if n > 1:
            der[1] = 3 * c[2]
        der[0] = c[1]
        return [sympy.expand(d) for d in der]


SERIES = (power_series, chebyshev_series, legendre_series)


def expand_series(expr: Any) -> Any:
    """Rewrite every series node as the plain sum it stands for."""
    return expr.replace(lambda e: isinstance(e, _Series), lambda e: e.expand_sum())


def to_elementary(expr: Any) -> Any:
    """Rewrite afsearch's functions in terms of SymPy's elementary ones."""
    expr = expand_series(expr)
    return expr.replace(
        lambda e: isinstance(e, (sigmoid, softplus)), lambda e: e._eval_rewrite_as_exp(e.args[0])
    )
