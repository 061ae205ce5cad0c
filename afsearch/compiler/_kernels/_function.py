"""The autograd function of a kernel: value and gradients in one pass each, only ``x`` saved.

The coefficients travel as one vector (the module holds them so): one leaf for autograd to
accumulate into and one tensor for the optimizer to step, where seven 0-d parameters cost
seven of each, more than the kernel itself at a trial's sizes.

``compiled`` picks how the kernel runs: on a CPU, inductor's compile of the kernel
(:mod:`afsearch.compiler._kernels._inductor`); on CUDA, the Triton kernels
(:mod:`afsearch.compiler._kernels._triton`, imported there only); otherwise, or where those
are missing, the kernel's own torch ops. A backward that must itself be differentiable
(``create_graph=True``, as a PINN's second derivative) always runs the torch ops, which
autograd differentiates.
"""

from __future__ import annotations

from typing import Any

import torch

from afsearch.compiler._kernels._base import BaseKernel, Tensor


def _flat(t: Tensor) -> Tensor:
    flat = t.reshape(-1)
    return flat if flat.is_contiguous() else flat.contiguous()


#: Dtypes inductor compiles a kernel for on a CPU (the others run the torch ops).
CPU_DTYPES = (torch.float32, torch.float64)


def coefficient_dtype(x: Tensor) -> torch.dtype:
    """The coefficients' dtype for input ``x``: float64 for float64, else float32 (a half or
    bfloat16 input under autocast keeps float32 coefficients; 0-d tensors do not promote)."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _device_forward(kernel: BaseKernel, x: Tensor) -> Any:
    if x.is_cuda:
        from afsearch.compiler._kernels import _triton

        return _triton.forward(kernel, x.dtype)
    if x.device.type == "cpu" and x.dtype in CPU_DTYPES:
        from afsearch.compiler._kernels._inductor import compiled_forward

        return compiled_forward(kernel, x.dtype)
    return None


def _device_backward(kernel: BaseKernel, x: Tensor, coeffs: bool) -> Any:
    if x.is_cuda:
        from afsearch.compiler._kernels import _triton

        return _triton.backward(kernel, x.dtype, coeffs)
    if x.device.type == "cpu" and x.dtype in CPU_DTYPES:
        from afsearch.compiler._kernels._inductor import compiled_backward

        return compiled_backward(kernel, x.dtype, coeffs)
    return None


def kernel_forward(kernel: BaseKernel, compiled: bool, x: Tensor, coeffs: Tensor) -> Tensor:
    """``f(x)`` for the coefficient vector ``coeffs`` (in :func:`coefficient_dtype`), without
    autograd bookkeeping; through the device's compiled kernel where ``compiled``."""
    fn = _device_forward(kernel, x) if compiled and x.numel() > 1 else None
    if fn is None:
        return kernel.forward(x, coeffs.unbind())
    return fn(_flat(x), coeffs)[0].view(x.shape)


def kernel_backward(
    kernel: BaseKernel, compiled: bool, x: Tensor, grad: Tensor, coeffs: Tensor, needs: bool
) -> tuple[Tensor, Tensor | None]:
    """``grad * df/dx`` and, if ``needs``, the coefficients' gradient (a vector)."""
    # A backward that autograd records (create_graph=True) runs the differentiable torch ops.
    eager = not compiled or x.numel() < 2 or torch.is_grad_enabled()
    fn = None if eager else _device_backward(kernel, x, needs)
    if fn is None:
        grad_x, grads = kernel.backward(x, grad, coeffs.unbind(), needs)
        return grad_x, None if grads is None else torch.stack(grads)
    outs = fn(_flat(x), _flat(grad), coeffs)
    return outs[0].view(x.shape), (outs[1] if needs else None)


class KernelFunction(torch.autograd.Function):
    """``y = kernel(x; coeffs)`` for a coefficient vector; saves ``x`` and ``coeffs`` alone."""

    @staticmethod
    def forward(ctx: Any, kernel: BaseKernel, compiled: bool, x: Tensor, coeffs: Tensor) -> Tensor:
        ctx.kernel, ctx.compiled = kernel, compiled
        ctx.save_for_backward(x, coeffs)
        return kernel_forward(kernel, compiled, x, coeffs.to(coefficient_dtype(x)))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, coeffs = ctx.saved_tensors
        needs = ctx.needs_input_grad[3]
        grad_x, grad_c = kernel_backward(
            ctx.kernel, ctx.compiled, x, grad, coeffs.to(coefficient_dtype(x)), needs
        )
        if grad_c is not None:
            grad_c = grad_c.to(coeffs.dtype)
        return None, None, grad_x if ctx.needs_input_grad[2] else None, grad_c
