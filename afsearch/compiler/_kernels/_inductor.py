"""The CPU kernels: a kernel's forward and backward compiled by inductor once per structure.

Each is traced by ``make_fx`` with symbolic shapes (one graph for every input size, on the
flattened input) with the coefficients as one vector input, and compiled by
``torch._inductor.standalone_compile``, which reads and writes inductor's on-disk FX graph
cache: the first process on a machine compiles a structure (seconds), later ones load it, and
every trial of the structure in a process shares one compiled function. Calling the compiled
graph directly skips dynamo's guards, which at a trial's sizes (thousands of elements) cost
more than the arithmetic. A compile that fails (no C++ compiler, an unsupported torch) warns
once and leaves the kernel in eager torch ops.

``torch._inductor.standalone_compile`` is the only private torch entry point used here. Tested
with torch 2.14.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from afsearch.compiler._kernels._base import BaseKernel

#: The torch releases this module was checked against (major.minor).
TESTED_WITH = ("2.14",)

_FAILED = (
    "Compiling the {what} of {kernel} failed ({error}); it runs in eager torch ops, which is "
    "slower. Install a C++ compiler or set the space's compile: never to silence this."
)

Compiled = Callable[..., Any]


def _examples(kernel: BaseKernel, dtype: torch.dtype, tensors: int) -> list[torch.Tensor]:
    # 64 elements: any size above 1 traces the same symbolic graph.
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(64, generator=gen, dtype=dtype) for _ in range(tensors)]
    return [*xs, torch.randn(kernel.inputs, generator=gen, dtype=dtype)]


def _compile(fn: Callable[..., Any], examples: Sequence[torch.Tensor]) -> Compiled:
    from torch.fx.experimental.proxy_tensor import make_fx

    graph = make_fx(fn, tracing_mode="symbolic")(*examples)
    return torch._inductor.standalone_compile(graph, list(examples), dynamic_shapes="from_graph")


def _guarded(what: str, kernel: BaseKernel, build: Callable[[], Compiled]) -> Compiled | None:
    try:
        return build()
    except Exception as error:  # any failure of the toolchain leaves the eager kernel
        warnings.warn(
            _FAILED.format(
                what=what, kernel=kernel, error=f"{type(error).__name__}: {error}"[:200]
            ),
            RuntimeWarning,
            stacklevel=4,
        )
        return None


@functools.lru_cache(maxsize=256)
def compiled_forward(kernel: BaseKernel, dtype: torch.dtype) -> Compiled | None:
    """``f(x_flat, coeffs) -> (y_flat,)``, or None where compiling failed."""

    # Traced functions go unannotated: FX keeps string annotations as globals of the graph,
    # which inductor's cache cannot key on.
    def forward(x, cs):
        return (kernel.forward(x, [cs[i] for i in range(kernel.inputs)]),)

    return _guarded("forward", kernel, lambda: _compile(forward, _examples(kernel, dtype, 1)))


@functools.lru_cache(maxsize=512)
def compiled_backward(kernel: BaseKernel, dtype: torch.dtype, coeffs: bool) -> Compiled | None:
    """``f(x_flat, grad_flat, coeffs) -> (grad_x,)`` or, with ``coeffs``, ``(grad_x,
    coefficient grads as one vector)``; None where compiling failed."""

    def backward(x, grad, cs):
        grad_x, grads = kernel.backward(x, grad, [cs[i] for i in range(kernel.inputs)], coeffs)
        return (grad_x,) if grads is None else (grad_x, torch.stack(grads))

    return _guarded("backward", kernel, lambda: _compile(backward, _examples(kernel, dtype, 2)))
