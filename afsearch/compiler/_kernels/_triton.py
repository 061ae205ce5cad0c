"""CUDA: a kernel's forward and backward as Triton programs (``_triton_kernels.py``).

Untested on GPU hardware: this was written on a machine without one. The programs are checked
against the kernel's torch ops under Triton's interpreter on a CPU
(``tests/compiler/test_kernels.py``); on a GPU, each structure and dtype checks itself once per
process against the torch ops on a probe tensor before it is used, and an error or a
disagreement there warns and keeps the torch ops. This module is imported for CUDA inputs
only (never on the CPU path); without triton the torch ops run.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import torch

from afsearch.compiler._kernels._base import BaseKernel
from afsearch.compiler._kernels._periodic import FourierKernel, RbfKernel
from afsearch.compiler._kernels._polynomial import (
    ChebyshevKernel,
    LegendreKernel,
    PolynomialKernel,
    PowerKernel,
)
from afsearch.compiler._kernels._rational import RationalKernel

BLOCK = 1024
KINDS: dict[type, int] = {
    PowerKernel: 0,
    ChebyshevKernel: 1,
    LegendreKernel: 2,
    FourierKernel: 3,
    RbfKernel: 4,
    RationalKernel: 5,
}

_REFUSED = (
    "The Triton kernel of {kernel} for {dtype} {why}; it runs in torch ops instead, which is "
    "slower but correct."
)


def launch_params(kernel: BaseKernel) -> tuple[dict[str, Any], list[float]] | None:
    """The programs' compile-time parameters and constants of ``kernel``, or None where the
    Triton programs do not cover it (a polynomial of degree 0)."""
    kind = KINDS.get(type(kernel))
    if kind is None:
        return None
    deg, m, nb, tanh, tail = 0, 0, 0, False, False
    consts = [1.0, 0.0, 0.0]
    if isinstance(kernel, PolynomialKernel):
        if kernel.degree < 1:
            return None
        deg, tanh, tail = kernel.degree, kernel.tanh, kernel.edge is not None
        consts = [kernel.scale, kernel.edge or 0.0, 0.0]
    elif isinstance(kernel, FourierKernel):
        deg, tanh, consts[2] = kernel.degree, kernel.tanh, kernel.freq
    elif isinstance(kernel, RbfKernel):
        nb, tanh, consts[2] = len(kernel.bumps), kernel.tanh, kernel.linear
        consts += [v for bump in kernel.bumps for v in bump]
    elif isinstance(kernel, RationalKernel):
        deg, m = kernel.n, kernel.m
    params = {
        "KIND": kind,
        "DEG": deg,
        "M": m,
        "NB": nb,
        "TANH": tanh,
        "TAIL": tail,
        "MIX": int(kernel.mix),
        "SIZE": kernel.size,
    }
    return params, consts


def _dtype(x: torch.Tensor) -> Any:
    import triton.language as tl

    return tl.float64 if x.dtype == torch.float64 else tl.float32


def launch_forward(kernel: BaseKernel, x: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """``f(x)`` of a flat, contiguous ``x`` (any device Triton runs on, the interpreter's CPU
    included)."""
    from afsearch.compiler._kernels import _triton_kernels as K

    found = launch_params(kernel)
    if found is None:
        raise ValueError(f"{kernel} has no Triton program.")
    params, consts = found
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    c = torch.tensor(consts, dtype=dtype, device=x.device)
    y = torch.empty_like(x)
    n = x.numel()
    grid = ((n + BLOCK - 1) // BLOCK,)
    K.forward_kernel[grid](x, coeffs, c, y, n, **params, DTYPE=_dtype(x), BLOCK=BLOCK)
    return y


def launch_backward(
    kernel: BaseKernel, x: torch.Tensor, grad: torch.Tensor, coeffs: torch.Tensor, needs: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``grad * df/dx`` and, if ``needs``, the coefficients' gradient, for flat inputs."""
    from afsearch.compiler._kernels import _triton_kernels as K

    found = launch_params(kernel)
    if found is None:
        raise ValueError(f"{kernel} has no Triton program.")
    params, consts = found
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    c = torch.tensor(consts, dtype=dtype, device=x.device)
    n = x.numel()
    blocks = (n + BLOCK - 1) // BLOCK
    grad_x = torch.empty_like(x)
    partial = torch.zeros(blocks, kernel.inputs, dtype=dtype, device=x.device)
    K.backward_kernel[(blocks,)](
        x, grad, coeffs, c, grad_x, partial, n, **params, COEFFS=needs, DTYPE=_dtype(x),
        BLOCK=BLOCK,
    )  # fmt: skip
    return grad_x, (partial.sum(0) if needs else None)


#: Agreement a probe needs with the torch ops in float64, relative to the largest value.
_PROBE_RTOL = {torch.float64: 1e-8, torch.float32: 2e-3}


@functools.lru_cache(maxsize=256)
def _verified(kernel: BaseKernel, dtype: torch.dtype) -> bool:
    """Whether the programs agree with the torch ops (in float64) on a probe on this GPU."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    if launch_params(kernel) is None:
        return False
    gen = torch.Generator().manual_seed(0)
    x = torch.linspace(-4.0, 4.0, 4099, dtype=torch.float64)
    g = torch.randn(4099, generator=gen, dtype=torch.float64)
    coeffs = torch.randn(kernel.inputs, generator=gen, dtype=torch.float64) / 4
    want = [kernel.forward(x, coeffs.unbind())]
    want_x, want_c = kernel.backward(x, g, coeffs.unbind(), True)
    want += [want_x, torch.stack(want_c or [])]
    ctype = torch.float64 if dtype == torch.float64 else torch.float32
    xd, gd, cd = x.to(dtype).cuda(), g.to(dtype).cuda(), coeffs.to(ctype).cuda()
    rtol = _PROBE_RTOL.get(dtype, 5e-2)
    try:
        got = [launch_forward(kernel, xd, cd), *launch_backward(kernel, xd, gd, cd, True)]
        for a, b in zip(got, want):
            assert a is not None
            scale = float(b.abs().max()) + 1.0
            torch.testing.assert_close(a.cpu().double(), b, rtol=rtol, atol=rtol * scale)
    except Exception as error:  # an untested compiler or device: keep the torch ops
        warnings.warn(
            _REFUSED.format(kernel=kernel, dtype=dtype, why=f"failed its check ({error})"[:300]),
            RuntimeWarning,
            stacklevel=5,
        )
        return False
    return True


@functools.lru_cache(maxsize=256)
def forward(kernel: BaseKernel, dtype: torch.dtype) -> Callable[..., Any] | None:
    """``f(x_flat, coeffs) -> (y_flat,)`` on CUDA, or None (the torch ops then run)."""
    if not _verified(kernel, dtype):
        return None
    return lambda x, coeffs: (launch_forward(kernel, x, coeffs),)


@functools.lru_cache(maxsize=512)
def backward(kernel: BaseKernel, dtype: torch.dtype, needs: bool) -> Callable[..., Any] | None:
    """``f(x_flat, grad_flat, coeffs) -> (grad_x, grad_coeffs)`` on CUDA, or None."""
    if not _verified(kernel, dtype):
        return None

    def run(x: torch.Tensor, grad: torch.Tensor, coeffs: torch.Tensor) -> tuple[Any, ...]:
        grad_x, grad_c = launch_backward(kernel, x, grad, coeffs, needs)
        return (grad_x,) if grad_c is None else (grad_x, grad_c)

    return run
