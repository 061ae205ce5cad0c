"""Subexpressions that PyTorch computes in one fused kernel, recognised in the SymPy tree.

:func:`native_form` rewrites ``u*sigmoid(u)`` into ``silu(u)``, the erf GELU into ``gelu(u)``,
``u*tanh(softplus(u))`` into ``mish(u)``, ELU, SELU, ReLU, leaky ReLU/PReLU, hardswish,
hardsigmoid, the tanh GELU and ``softplus(b*u)/b`` into their PyTorch ops, before the program is
built. The rewritten tree uses the function classes below; each evaluates in SymPy as the
expression it replaces, so the table's tests check the kernels against SymPy like any other.

A gate applied to a scaled input, ``u*sigmoid(b*u)``, is ``silu(b*u)/b``. With a numeric ``b``
that is exact; with a parameter ``b`` the divisor goes through :class:`nonzero` (``b``, or the
dtype's smallest normal number's square root where ``b`` is 0, so ``b = 0`` gives ``u/2``
instead of ``0/0``). Autograd through that form differentiates ``f(b*u)/b`` with respect to
``b`` as two terms that cancel for ``|b| << 1`` (a few digits lost at ``b = 0.01`` in float32);
the fused path and exported modules take that derivative from the expression itself.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable
from typing import Any

import sympy
from sympy import Function

from afsearch.expr import X, sigmoid, softplus
from afsearch.expr._known import SELU_ALPHA, SELU_SCALE

_SYMBOLIC_SCALE = contextvars.ContextVar("symbolic_scale", default=True)
# The tanh approximation of GELU, as torch writes it: sqrt(2/pi) * (u + 0.044715 u**3).
GELU_TANH_CUBIC = 0.044715


class _Native(Function):
    """A PyTorch op as a SymPy function: SymPy evaluates it through :meth:`definition`."""

    @classmethod
    def definition(cls, *args: Any) -> Any:
        raise NotImplementedError

    def _eval_evalf(self, prec: int) -> Any:
        return self.definition(*self.args)._eval_evalf(prec)

    def _eval_is_real(self) -> Any:
        return all(a.is_real for a in self.args) or None

    def fdiff(self, argindex: int = 1) -> Any:
        dummies = [sympy.Dummy() for _ in self.args]
        body = self.definition(*dummies)
        return sympy.diff(body, dummies[argindex - 1]).xreplace(dict(zip(dummies, self.args)))


def _elu(u: Any, alpha: Any) -> Any:
    return sympy.Piecewise((u, u > 0), (alpha * (sympy.exp(u) - 1), True))


def _hardsigmoid(u: Any) -> Any:
    return sympy.Min(6, sympy.Max(0, u + 3)) / 6


# SymPy function classes are named in lower case, like sympy.exp and afsearch.expr.sigmoid.
class silu(_Native):
    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        return u * sigmoid(u)

    def fdiff(self, argindex: int = 1) -> Any:
        return silu_grad(self.args[0])


class silu_grad(_Native):
    """SiLU's derivative, which PyTorch computes in one kernel (its ``silu_backward``)."""

    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        return sigmoid(u) * (1 + u * (1 - sigmoid(u)))


class gelu(_Native):
    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        return u * (1 + sympy.erf(u / sympy.sqrt(2))) / 2

    def fdiff(self, argindex: int = 1) -> Any:
        return gelu_grad(self.args[0])


class gelu_grad(_Native):
    """GELU's derivative, which PyTorch computes in one kernel (its ``gelu_backward``)."""

    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        return (1 + sympy.erf(u / sympy.sqrt(2))) / 2 + u * sympy.exp(-(u**2) / 2) / sympy.sqrt(
            2 * sympy.pi
        )


class gelu_tanh(_Native):
    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        inner = sympy.sqrt(2 / sympy.pi) * (u + sympy.Float(GELU_TANH_CUBIC) * u**3)
        return u * (1 + sympy.tanh(inner)) / 2


class mish(_Native):
    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        return u * sympy.tanh(softplus(u))


class softplus_beta(_Native):
    """``softplus(b*u)/b`` for a number ``b``."""

    nargs = 2

    @classmethod
    def definition(cls, u: Any, b: Any) -> Any:
        return softplus(b * u) / b


class elu(_Native):
    """ELU with a number ``alpha``."""

    nargs = 2

    @classmethod
    def definition(cls, u: Any, alpha: Any) -> Any:
        return _elu(u, alpha)


class selu(_Native):
    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        return sympy.Float(SELU_SCALE) * _elu(u, sympy.Float(SELU_ALPHA))


class relu(_Native):
    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        return sympy.Max(0, u)


class leaky_relu(_Native):
    """``Max(0, u) + s*Min(0, u)`` for a number ``s`` (``prelu`` when ``s`` is a parameter)."""

    nargs = 2

    @classmethod
    def definition(cls, u: Any, s: Any) -> Any:
        return sympy.Max(0, u) + s * sympy.Min(0, u)


class prelu(leaky_relu):
    pass


class hardsigmoid(_Native):
    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        return _hardsigmoid(u)


class hardswish(_Native):
    nargs = 1

    @classmethod
    def definition(cls, u: Any) -> Any:
        return u * _hardsigmoid(u)


class nonzero(_Native):
    """A parameter used as a divisor: itself, or a tiny number where it is 0."""

    nargs = 1

    @classmethod
    def definition(cls, b: Any) -> Any:
        return b


NATIVE_CLASSES: tuple[type, ...] = (
    silu,
    silu_grad,
    gelu,
    gelu_grad,
    gelu_tanh,
    mish,
    softplus_beta,
    elu,
    selu,
    relu,
    leaky_relu,
    prelu,
    hardsigmoid,
    hardswish,
    nonzero,
)


# Matching ---------------------------------------------------------------------------------------


def _has_x(e: Any) -> bool:
    return X in e.free_symbols


def _close(a: Any, b: float, rel: float = 1e-12) -> bool:
    return bool(a.is_Number) and math.isclose(float(a), b, rel_tol=rel, abs_tol=0.0)


def _same(a: Any, b: Any) -> bool:
    """Whether two expressions are equal, up to float rounding in their coefficients."""
    diff = sympy.expand(a - b)
    return all(abs(float(t.as_coeff_Mul()[0])) < 1e-12 for t in sympy.Add.make_args(diff))


def _scaled(fn: type, arg: Any, ratio: Any) -> Any:
    """``ratio * fn(arg)`` where ``fn(v) = v*g(v)``; a symbolic ``ratio = 1/b`` goes through
    :class:`nonzero`, see the module docstring."""
    if ratio.is_Number:
        return ratio * fn(_rewrite(arg))
    if not _SYMBOLIC_SCALE.get():
        return None
    b = 1 / ratio
    if b.is_Symbol or (b.is_Mul and all(f.is_Symbol or f.is_Number for f in b.args)):
        safe = nonzero(b)
        u = sympy.cancel(arg / b)
        return fn(_rewrite(safe * u)) / safe
    return None


def _gate(f: Any, rest: Any) -> Any:
    """``rest * f`` as a native op, where ``f`` is the gate of one (or ``None``)."""
    if isinstance(f, sigmoid) and _has_x(f.args[0]):
        a = f.args[0]
        ratio = rest / a
        if not _has_x(ratio):
            return _scaled(silu, a, ratio)
    if isinstance(f, sympy.tanh) and isinstance(f.args[0], softplus):
        a = f.args[0].args[0]
        ratio = rest / a
        if _has_x(a) and not _has_x(ratio):
            return _scaled(mish, a, ratio)
    if isinstance(f, sympy.Add) and len(f.args) == 2 and sympy.S.One in f.args:
        g = f.args[0] if f.args[1] == 1 else f.args[1]
        if isinstance(g, sympy.erf) and _has_x(g.args[0]):
            a = sympy.sqrt(2) * g.args[0]
            ratio = 2 * rest / a
            if not _has_x(ratio):
                return _scaled(gelu, a, ratio)
        if isinstance(g, sympy.tanh) and _has_x(g.args[0]):
            a = 2 * rest
            inner = sympy.sqrt(2 / sympy.pi) * (a + sympy.Float(GELU_TANH_CUBIC) * a**3)
            if _same(sympy.expand(g.args[0]), sympy.expand(inner)):
                return gelu_tanh(_rewrite(a))
    v = _clamp06(f)
    if v is not None:
        u = v - 3
        if _same(sympy.expand(6 * rest), sympy.expand(u)):
            return hardswish(_rewrite(u))
        if _same(6 * rest, sympy.S.One):
            return hardsigmoid(_rewrite(u))
    return None


def _clamp06(f: Any) -> Any:
    """``v`` if ``f`` is ``Min(6, Max(0, v))`` or ``Max(0, Min(6, v))``."""
    for outer, inner, lo_hi in ((sympy.Min, sympy.Max, (6, 0)), (sympy.Max, sympy.Min, (0, 6))):
        if isinstance(f, outer) and len(f.args) == 2 and sympy.Integer(lo_hi[0]) in f.args:
            g = f.args[0] if f.args[1] == lo_hi[0] else f.args[1]
            if isinstance(g, inner) and len(g.args) == 2 and sympy.Integer(lo_hi[1]) in g.args:
                v = g.args[0] if g.args[1] == lo_hi[1] else g.args[1]
                if _has_x(v):
                    return v
    return None


def _elu_arg(e: Any) -> tuple[Any, Any] | None:
    """``(u, alpha)`` if ``e`` is ``Piecewise((u, u > 0), (alpha*(exp(u) - 1), True))``."""
    if not isinstance(e, sympy.Piecewise) or len(e.args) != 2:
        return None
    (u, cond), (neg, last) = e.args
    if last != sympy.true or not isinstance(cond, sympy.StrictGreaterThan) or cond.rhs != 0:
        return None
    if cond.lhs != u or not _has_x(u):
        return None
    expanded = sympy.expand(neg)
    alpha = expanded.coeff(sympy.exp(u))
    if alpha == 0 or _has_x(alpha) or sympy.expand(neg - alpha * (sympy.exp(u) - 1)) != 0:
        return None
    return u, alpha


def _mul(e: Any) -> Any:
    factors = sympy.Mul.make_args(e)
    # SELU: its scale times ELU with its alpha.
    coeff, rest = e.as_coeff_Mul()
    found = _elu_arg(rest)
    if found is not None and _close(coeff, SELU_SCALE) and _close(found[1], SELU_ALPHA):
        return selu(_rewrite(found[0]))
    # softplus(b*u)/b with a number b.
    if isinstance(rest, softplus) and coeff.is_Number and coeff not in (0, 1):
        b = 1 / coeff
        u = rest.args[0] / b
        if _has_x(u) and sympy.expand(rest.args[0] - b * u) == 0:
            return softplus_beta(_rewrite(u), b)
    for i, f in enumerate(factors):
        if not _has_x(f):
            continue
        others = sympy.Mul(*factors[:i], *factors[i + 1 :])
        out = _gate(f, others)
        if out is not None:
            return out
    return None


def _add(e: Any) -> Any:
    """``Max(0, u) + s*Min(0, u)`` inside a sum: leaky ReLU, or PReLU for a parameter ``s``."""
    terms = list(sympy.Add.make_args(e))
    for i, t in enumerate(terms):
        if not (isinstance(t, sympy.Max) and len(t.args) == 2 and sympy.S.Zero in t.args):
            continue
        u = t.args[0] if t.args[1] == 0 else t.args[1]
        for j, s_t in enumerate(terms):
            s, m = s_t.as_independent(X, as_Add=False)
            if j == i or m != sympy.Min(0, u) or s == 0:
                continue
            if not s.is_Number and not s.is_Symbol:
                continue
            kind = leaky_relu if s.is_Number else prelu
            others = [_rewrite(t2) for k, t2 in enumerate(terms) if k not in (i, j)]
            return sympy.Add(kind(_rewrite(u), s), *others)
    return None


_MATCHERS: dict[type, Callable[[Any], Any]] = {sympy.Mul: _mul, sympy.Add: _add}


def native_form(e: Any, *, symbolic_scale: bool = True) -> Any:
    """``e`` with every subexpression PyTorch computes natively replaced by its op.

    ``symbolic_scale=False`` leaves ``u*g(b*u)`` with a parameter ``b`` as written: under
    autograd, ``f(b*u)/b`` records more ops than the expression (``nonzero`` and the division)
    and keeps more tensors, and its ``b`` derivative cancels for a small ``b``.
    """
    token = _SYMBOLIC_SCALE.set(symbolic_scale)
    try:
        return _rewrite(e)
    finally:
        _SYMBOLIC_SCALE.reset(token)


def _rewrite(e: Any) -> Any:
    if not isinstance(e, sympy.Basic) or e.is_Atom or not _has_x(e):
        return e
    matcher = _MATCHERS.get(type(e))
    if matcher is not None:
        out = matcher(e)
        if out is not None:
            return out
    found = _elu_arg(e)
    if found is not None and found[1].is_Number:
        if found[1] == 1:
            return elu(_rewrite(found[0]), sympy.S.One)
        return elu(_rewrite(found[0]), found[1])
    if isinstance(e, sympy.Max) and len(e.args) == 2 and sympy.S.Zero in e.args:
        return relu(_rewrite(e.args[0] if e.args[1] == 0 else e.args[1]))
    if isinstance(e, sympy.Piecewise):
        pieces = [(_rewrite(p), c) for p, c in e.args]
        return sympy.Piecewise(*pieces, evaluate=False)
    args = [_rewrite(a) for a in e.args]
    if all(a is b for a, b in zip(args, e.args)):
        return e
    return e.func(*args)
