"""Kernels for the learned families that cost most: SLAF (every basis) and rational units.

A kernel computes one structure's value, and its gradients with respect to the input and to
every coefficient, in one pass each (Horner's rule, Clenshaw's recurrence, the basis
recurrences), saving only the input for backward; the coefficients are tensor inputs, so one
compile per structure serves every trial of it. :func:`match_kernel` finds the kernel of an
expression, :func:`apply_kernel` runs it.
"""

from afsearch.compiler._kernels._base import BaseKernel
from afsearch.compiler._kernels._function import (
    KernelFunction,
    Runner,
    apply_kernel,
    coefficient_dtype,
    compiled_here,
    runner,
)
from afsearch.compiler._kernels._match import KERNELS, match_kernel

__all__ = [
    "KERNELS",
    "BaseKernel",
    "KernelFunction",
    "Runner",
    "apply_kernel",
    "coefficient_dtype",
    "compiled_here",
    "match_kernel",
    "runner",
]
