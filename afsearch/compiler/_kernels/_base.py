"""The interface of a kernel: one learned family's structure, its value and its gradients.

A kernel is the *structure* of an activation (basis, degree, constants, whether a ReLU mix and
a linear tail are there) without its coefficient values, which it takes as tensors. It is a
frozen dataclass, so it is the key under which a compiled version is cached: every trial of
one structure shares one compile. :meth:`BaseKernel.forward` gives ``f(x)``;
:meth:`BaseKernel.backward` gives, from ``x`` alone, the gradient with respect to ``x`` and
(the coefficients' gradients are reductions over the input) with respect to every
coefficient, in one pass over the basis. Both are written in plain torch ops, so autograd can
differentiate the backward again (second derivatives) and inductor can fuse them.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class BaseKernel(abc.ABC):
    """``f(x) = g(x; c_0, ..., c_{size-1}) [+ m * max(x, 0)]`` with ``m`` the last input."""

    #: Whether a trainable ReLU mix ``m * max(x, 0)`` is added (SLAF's ``relu_mix``).
    mix: bool = False

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """How many coefficients ``g`` takes (the mix weight not counted)."""

    @abc.abstractmethod
    def value(self, x: Tensor, cs: Sequence[Any]) -> Tensor:
        """``g(x)``."""

    @abc.abstractmethod
    def gradients(
        self, x: Tensor, grad: Tensor, cs: Sequence[Any], coeffs: bool
    ) -> tuple[Tensor, list[Tensor] | None]:
        """``grad * dg/dx`` and, if ``coeffs``, ``sum(grad * dg/dc_k)`` for every ``k``."""

    @property
    def inputs(self) -> int:
        """How many coefficient tensors :meth:`forward` takes."""
        return self.size + int(self.mix)

    def forward(self, x: Tensor, cs: Sequence[Any]) -> Tensor:
        y = self.value(x, cs[: self.size])
        if self.mix:
            y = y + cs[-1] * torch.relu(x)
        return y

    def backward(
        self, x: Tensor, grad: Tensor, cs: Sequence[Any], coeffs: bool
    ) -> tuple[Tensor, list[Tensor] | None]:
        grad_x, grads = self.gradients(x, grad, cs[: self.size], coeffs)
        if self.mix:
            # ReLU's own convention: no slope at 0.
            grad_x = grad_x + grad * cs[-1] * (x > 0).to(x.dtype)
            if grads is not None:
                grads.append((grad * torch.relu(x)).sum())
        return grad_x, grads


def full(value: Any, like: Tensor) -> Tensor:
    """``value`` (a 0-d coefficient or a tensor) at the shape of ``like``."""
    return value if value.shape == like.shape else value + torch.zeros_like(like)
