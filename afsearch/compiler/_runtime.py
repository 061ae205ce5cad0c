"""Numerical kernels shared by compiled and exported activations.

This module depends on torch alone: the exporter copies its source into every generated file,
so an exported activation computes exactly what the compiled module computed during the search.
Each kernel keeps its op finite where the mathematical function is finite but the naive
floating-point evaluation overflows (``exp`` of a large argument inside an unused ``where``
branch would otherwise give ``0 * inf = nan`` gradients).
"""

from __future__ import annotations

import math

import torch

# The largest argument whose exp() is finite, per dtype; exp/sinh/cosh clamp their input there.
_EXP_MAX = {
    torch.float16: 11.0,
    torch.bfloat16: 88.0,
    torch.float32: 88.0,
    torch.float64: 709.0,
}


def _exp_limit(u: torch.Tensor) -> float:
    return _EXP_MAX.get(u.dtype, 88.0)


def safe_exp(u: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.clamp(u, max=_exp_limit(u)))


def safe_sinh(u: torch.Tensor) -> torch.Tensor:
    lim = _exp_limit(u)
    return torch.sinh(torch.clamp(u, min=-lim, max=lim))


def safe_cosh(u: torch.Tensor) -> torch.Tensor:
    lim = _exp_limit(u)
    return torch.cosh(torch.clamp(u, min=-lim, max=lim))


def sigmoid(u: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(u)


def softplus(u: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.softplus(u)


def sinc(u: torch.Tensor) -> torch.Tensor:
    # SymPy's sinc is the unnormalised sin(u)/u; torch.sinc is sin(pi u)/(pi u).
    return torch.sinc(u / math.pi)


def heaviside(u: torch.Tensor) -> torch.Tensor:
    # SymPy's Heaviside(0) is 1/2.
    return torch.where(u > 0, 1.0, torch.where(u < 0, 0.0, 0.5)).to(u.dtype)


def dirac_delta(u: torch.Tensor, *order: float) -> torch.Tensor:
    # Zero almost everywhere, for every derivative order SymPy passes after the argument.
    return torch.zeros_like(u)


def maximum(a, b):
    if not isinstance(a, torch.Tensor):
        return torch.clamp(b, min=a)
    if not isinstance(b, torch.Tensor):
        return torch.clamp(a, min=b)
    return torch.maximum(a, b)


def minimum(a, b):
    if not isinstance(a, torch.Tensor):
        return torch.clamp(b, max=a)
    if not isinstance(b, torch.Tensor):
        return torch.clamp(a, max=b)
    return torch.minimum(a, b)


def where(cond, a, b):
    return torch.where(cond, a, b)


def _tensor(c, u):
    return c if isinstance(c, torch.Tensor) else torch.tensor(c, dtype=u.dtype, device=u.device)


# The series run one fused multiply-add (addcmul) per degree: at the sizes a search trains on,
# each op costs its dispatch and its autograd node more than its arithmetic.
def horner(u, *coeffs):
    """sum_k coeffs[k] * u**k by Horner's rule (one multiply-add per degree)."""
    if len(coeffs) == 1:
        acc = coeffs[0]
        return acc + 0 * u if isinstance(acc, torch.Tensor) else torch.full_like(u, acc)
    acc = _tensor(coeffs[-1], u)
    for c in reversed(coeffs[:-1]):
        acc = torch.addcmul(_tensor(c, u), acc, u)
    return acc


def clenshaw_chebyshev(u, *coeffs):
    """sum_k coeffs[k] * T_k(u) by Clenshaw's recurrence (stable for |u| <= 1 and beyond)."""
    if len(coeffs) == 1:
        return coeffs[0] + 0 * u
    u2 = 2 * u
    b1 = _tensor(coeffs[-1], u)
    b2 = None
    for c in reversed(coeffs[1:-1]):
        c = _tensor(c, u)
        b1, b2 = torch.addcmul(c if b2 is None else c - b2, u2, b1), b1
    c0 = _tensor(coeffs[0], u)
    out = torch.addcmul(c0 if b2 is None else c0 - b2, u, b1)
    return out if out.shape == u.shape else out + 0 * u


def clenshaw_legendre(u, *coeffs):
    """sum_k coeffs[k] * P_k(u) by Clenshaw's recurrence for Legendre polynomials.

    P_{k+1} = alpha_k P_k + beta_{k+1} P_{k-1} with alpha_k = (2k+1) u / (k+1) and
    beta_{k+1} = -k / (k+1); b_k = c_k + alpha_k b_{k+1} + beta_{k+2} b_{k+2}.
    """
    n = len(coeffs) - 1
    if n == 0:
        return coeffs[0] + 0 * u
    b1 = _tensor(coeffs[n], u)
    b2 = None
    for k in range(n - 1, 0, -1):
        c = _tensor(coeffs[k], u)
        c = c if b2 is None else torch.add(c, b2, alpha=-(k + 1) / (k + 2))
        b1, b2 = torch.addcmul(c, u, b1, value=(2 * k + 1) / (k + 1)), b1
    c0 = _tensor(coeffs[0], u)
    out = torch.addcmul(c0 if b2 is None else torch.add(c0, b2, alpha=-0.5), u, b1)
    return out if out.shape == u.shape else out + 0 * u


def nonzero(b):
    # A parameter used as a divisor: u*g(b*u) runs as PyTorch's fused f(b*u) / b, and where b is
    # 0 the square root of the dtype's smallest normal number stands in, giving the limit (u/2
    # for SiLU) instead of 0/0.
    if not isinstance(b, torch.Tensor):
        return b if b != 0 else 1e-150
    return torch.where(b == 0, torch.finfo(b.dtype).tiny ** 0.5, b)


def prelu(u, s):
    # PReLU with a learned slope (a 0-d tensor, or one per channel of dim 1 shaped (C, 1, ...)
    # to broadcast); a number slope is a leaky ReLU.
    if isinstance(s, torch.Tensor):
        return torch.nn.functional.prelu(u, s.reshape(-1) if s.dim() > 1 else s)
    return torch.nn.functional.leaky_relu(u, s)


# The derivatives of SiLU and GELU in one kernel each: PyTorch's own backward, given ones.
def silu_grad(u):
    return torch.ops.aten.silu_backward(torch.ones_like(u), u)


def gelu_grad(u):
    return torch.ops.aten.gelu_backward(torch.ones_like(u), u)
