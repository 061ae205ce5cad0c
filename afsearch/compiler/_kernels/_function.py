"""The autograd function of a kernel: value and gradients in one pass each, only ``x`` saved.

The coefficients travel as one vector (the module holds them so): one leaf for autograd to
accumulate into and one tensor for the optimizer to step, where seven 0-d parameters cost
seven of each, more than the kernel itself at a trial's sizes.

A :class:`Runner` is how one kernel runs on one device and dtype. Compiled: on a CPU,
inductor's compile of the kernel (:mod:`afsearch.compiler._kernels._inductor`); on CUDA, the
Triton programs (:mod:`afsearch.compiler._kernels._triton`, imported there only). Otherwise,
or where those are missing, the kernel's own torch ops. A backward that must itself be
differentiable (``create_graph=True``, as a PINN's second derivative) always runs the torch
ops, which autograd differentiates.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from afsearch.compiler._kernels._base import BaseKernel, Tensor

#: Dtypes inductor compiles a kernel for on a CPU (the others run the torch ops).
CPU_DTYPES = (torch.float32, torch.float64)
_UNRESOLVED = object()


def coefficient_dtype(x: Tensor) -> torch.dtype:
    """The coefficients' dtype for input ``x``: float64 for float64, else float32 (a half or
    bfloat16 input under autocast keeps float32 coefficients; 0-d tensors do not promote)."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _flat(t: Tensor) -> Tensor:
    flat = t.view(-1) if t.is_contiguous() else t.reshape(-1)
    return flat if flat.is_contiguous() else flat.contiguous()


class Runner:
    """One kernel on one device type and dtype, compiled or in torch ops; the compiled
    functions are looked up (and compiled or loaded) on first use."""

    def __init__(self, kernel: BaseKernel, device: str, dtype: torch.dtype, compiled: bool):
        self.kernel, self.device, self.dtype = kernel, device, dtype
        self.compiled = compiled and (device == "cuda" or (device == "cpu" and dtype in CPU_DTYPES))
        self._forward: Any = _UNRESOLVED
        self._backward: dict[bool, Any] = {}

    def _forward_fn(self) -> Any:
        if self._forward is _UNRESOLVED:
            if self.device == "cuda":
                from afsearch.compiler._kernels import _triton

                self._forward = _triton.forward(self.kernel, self.dtype)
            else:
                from afsearch.compiler._kernels._inductor import compiled_forward

                self._forward = compiled_forward(self.kernel, self.dtype)
        return self._forward

    def _backward_fn(self, needs: bool) -> Any:
        if needs not in self._backward:
            if self.device == "cuda":
                from afsearch.compiler._kernels import _triton

                self._backward[needs] = _triton.backward(self.kernel, self.dtype, needs)
            else:
                from afsearch.compiler._kernels._inductor import compiled_backward

                self._backward[needs] = compiled_backward(self.kernel, self.dtype, needs)
        return self._backward[needs]

    def forward(self, x: Tensor, coeffs: Tensor) -> Tensor:
        """``f(x)`` for the coefficient vector ``coeffs`` (in :func:`coefficient_dtype`)."""
        fn = self._forward_fn() if self.compiled and x.numel() > 1 else None
        if fn is None:
            return self.kernel.forward(x, coeffs.unbind())
        return fn(_flat(x), coeffs)[0].view(x.shape)

    def backward(
        self, x: Tensor, grad: Tensor, coeffs: Tensor, needs: bool
    ) -> tuple[Tensor, Tensor | None]:
        """``grad * df/dx`` and, if ``needs``, the coefficients' gradient (a vector)."""
        # A backward that autograd records (create_graph=True) runs the differentiable ops.
        eager = not self.compiled or x.numel() < 2 or torch.is_grad_enabled()
        fn = None if eager else self._backward_fn(needs)
        if fn is None:
            grad_x, grads = self.kernel.backward(x, grad, coeffs.unbind(), needs)
            return grad_x, None if grads is None else torch.stack(grads)
        outs = fn(_flat(x), _flat(grad), coeffs)
        return outs[0].view(x.shape), (outs[1] if needs else None)


@functools.lru_cache(maxsize=1024)
def runner(kernel: BaseKernel, device: str, dtype: torch.dtype, compiled: bool) -> Runner:
    """The :class:`Runner` of ``kernel`` on a ``device`` type (``"cpu"``, ``"cuda"``)."""
    return Runner(kernel, device, dtype, compiled)


def compiled_here(kernel: BaseKernel, device: str, dtype: torch.dtype, needs: bool) -> bool:
    """Whether the compiled kernel runs on a ``device`` type for ``dtype`` inputs without
    compiling first: on a CPU, when this machine compiled it before (its file is on disk;
    ``needs``: with the coefficients' gradients); on CUDA always (a Triton program compiles in
    seconds)."""
    if device == "cuda":
        return True
    if device != "cpu" or dtype not in CPU_DTYPES:
        return False
    from afsearch.compiler._kernels._inductor import on_disk

    return on_disk(kernel, dtype, needs)


class KernelFunction(torch.autograd.Function):
    """``y = kernel(x; coeffs)`` for a coefficient vector, run by a :class:`Runner`; saves
    ``x`` and ``coeffs`` alone."""

    @staticmethod
    def forward(ctx: Any, run: Runner, x: Tensor, coeffs: Tensor) -> Tensor:
        ctx.run = run
        ctx.save_for_backward(x, coeffs)
        dtype = coefficient_dtype(x)
        return run.forward(x, coeffs if coeffs.dtype == dtype else coeffs.to(dtype))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        x, coeffs = ctx.saved_tensors
        dtype = coefficient_dtype(x)
        cs = coeffs if coeffs.dtype == dtype else coeffs.to(dtype)
        grad_x, grad_c = ctx.run.backward(x, grad, cs, ctx.needs_input_grad[2])
        if grad_c is not None and grad_c.dtype != coeffs.dtype:
            grad_c = grad_c.to(coeffs.dtype)
        return None, grad_x if ctx.needs_input_grad[1] else None, grad_c


def apply_kernel(kernel: BaseKernel, compiled: bool, x: Tensor, coeffs: Tensor) -> Tensor:
    """``kernel(x; coeffs)`` with autograd (where grad mode is on), through the runner for
    ``x``'s device and dtype."""
    run = runner(kernel, x.device.type, x.dtype, compiled)
    if torch.is_grad_enabled():
        return KernelFunction.apply(run, x, coeffs)
    dtype = coefficient_dtype(x)
    return run.forward(x, coeffs if coeffs.dtype == dtype else coeffs.to(dtype))
