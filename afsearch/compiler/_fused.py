"""The fused path: forward and a SymPy-derived backward that save only the input and parameters.

Interpreting a program under autograd records every intermediate tensor for the backward pass
(a degree-6 Chebyshev SLAF keeps about twenty). :class:`FusedFunction` runs the forward program
without autograd and, in the backward pass, the programs of the derivatives SymPy derived, so it
saves ``x`` and the parameters alone. It is the exported module's ``autograd.Function``
(:func:`afsearch.compiler.render_module` prints the same programs), run by interpretation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy
import torch

from afsearch.compiler._native import native_form
from afsearch.compiler._program import Program, Slot, build_program, run_program
from afsearch.expr import X


@dataclass(eq=False)  # hashed by identity: one compiled function per programs object
class FusedPrograms:
    """The forward program and the backward programs of one expression over ``symbols``.

    ``backward(needs)`` is the program of ``[d/dx, d/dp for each p needed]``; the two common
    cases (no parameter needs a gradient, the trainable ones do) are built up front so that
    tracing under ``torch.compile`` never meets SymPy.
    """

    expr: Any
    symbols: tuple[sympy.Symbol, ...]
    native: bool = True
    forward: Program = field(init=False)
    _backward: dict[tuple[bool, ...], Program] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        # Run under autograd too (small inputs): u*g(b*u) with a parameter b stays as written
        # there (see native_form); the x-only backward uses the full native form.
        self.forward = build_program(
            [self.expr], [X, *self.symbols], native=self.native, symbolic_scale=False
        )

    def backward(self, needs: Sequence[bool]) -> Program:
        key = tuple(bool(n) for n in needs)
        found = self._backward.get(key)
        if found is None:
            # With parameter gradients, every derivative of the expression itself: they share
            # subexpressions (sigmoid(b*x) for Swish), and d/db of the native f(b*u)/b cancels
            # badly for a small b. With the input's alone, d/dx of the native form: SiLU's and
            # GELU's derivatives are one PyTorch kernel each.
            base = native_form(self.expr) if self.native and not any(key) else self.expr
            exprs = [sympy.diff(base, X)]
            exprs += [sympy.diff(self.expr, s) for s, n in zip(self.symbols, key) if n]
            found = build_program(exprs, [X, *self.symbols], native=self.native)
            self._backward[key] = found
        return found


def _as_tensor(value: Any, like: torch.Tensor) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value if value.shape == like.shape else value.expand_as(like)
    return torch.full_like(like, float(value))


class FusedFunction(torch.autograd.Function):
    """``y = f(x, *params)`` with the backward of :class:`FusedPrograms`."""

    @staticmethod
    def forward(ctx: Any, programs: FusedPrograms, x: torch.Tensor, *params: torch.Tensor) -> Any:
        ps = [p.to(x.dtype) for p in params]
        ctx.programs = programs
        ctx.save_for_backward(x, *params)
        out = run_program(programs.forward, [x, *ps])[0]
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            out = _as_tensor(out, x)
        elif isinstance(result := programs.forward.outputs[0], Slot) and result.index == 0:
            out = out.clone()  # the identity: the output must not be the input itself
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        x, *params = ctx.saved_tensors
        programs: FusedPrograms = ctx.programs
        needs = list(ctx.needs_input_grad[2:])
        ps = [p.to(x.dtype) for p in params]
        outs = run_program(programs.backward(needs), [x, *ps])
        grad_x = grad * outs[0] if ctx.needs_input_grad[1] else None
        grads: list[torch.Tensor | None] = []
        k = 1
        for p, n in zip(params, needs):
            if not n:
                grads.append(None)
                continue
            d = outs[k]
            k += 1
            g = _sum_to(grad * d if isinstance(d, torch.Tensor) and d.dim() else grad, p)
            if not (isinstance(d, torch.Tensor) and d.dim()):
                g = g * d
            grads.append(torch.as_tensor(g).to(p.dtype).reshape(p.shape))
        return (None, grad_x, *grads)


def _sum_to(t: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``t`` summed to the shape of parameter ``p``: a scalar, or a per-channel parameter's
    ``(C, 1, ...)`` (summed over every other dim)."""
    return t.sum_to_size(p.shape) if p.dim() else t.sum()


def autograd_ops(program: Program) -> int:
    """How many instructions of ``program`` compute on full-size tensors (depend on x)."""
    deps = {0}
    count = 0
    for ins in program.instrs:
        if any(isinstance(a, Slot) and a.index in deps for a in ins.args):
            deps.add(ins.out)
            count += 1
    return count
