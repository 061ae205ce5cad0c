"""SymPy expression to ``torch.nn.Module``."""

from __future__ import annotations

import math
from typing import Any

import sympy
import torch
from torch import nn

from afsearch.compiler._program import Program, Slot, build_program, run_program
from afsearch.expr import Candidate, Param, X, symbol


def _number(value: float) -> Any:
    # A whole number folds as an Integer, so SymPy simplifies 1*x to x and 0*x to 0 (a Float 1.0
    # does not compare equal to 1 in SymPy).
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 2**53:
        return sympy.Integer(int(value))
    return sympy.Float(value)


class CompiledActivation(nn.Module):
    """An activation computed by interpreting the candidate's program on tensors.

    Trainable parameters are ``nn.Parameter`` named ``p_<name>``, fixed ones buffers of the same
    form, so ``state_dict`` keys read as the expression's parameter names.

    >>> import torch
    >>> from afsearch.activations import build
    >>> act = CompiledActivation(build({"family": "swish", "beta": 1.0}))
    >>> x = torch.tensor([1.0])
    >>> bool(torch.allclose(act(x), torch.nn.functional.silu(x)))
    True
    """

    def __init__(
        self,
        candidate: Candidate,
        dtype: torch.dtype | None = None,
        *,
        native: bool = True,
        fold: bool = False,
    ) -> None:
        """``native``: PyTorch's fused ops where the expression has them (SiLU, GELU, ...).
        ``fold``: fixed parameters enter the program as numbers (``x*sigmoid(beta*x)`` with a
        fixed ``beta = 1`` is then one SiLU); their buffers stay, unused, for ``state_dict``."""
        super().__init__()
        self.candidate = candidate
        self.names = list(candidate.params)
        for name, p in candidate.params.items():
            value = torch.tensor(p.value, dtype=dtype or torch.get_default_dtype())
            if p.trainable:
                self.register_parameter(f"p_{name}", nn.Parameter(value))
            else:
                self.register_buffer(f"p_{name}", value)
        expr = candidate.expr
        if fold:
            expr = expr.xreplace(
                {
                    symbol(n): _number(p.value)
                    for n, p in candidate.params.items()
                    if not p.trainable
                }
            )
        self.program: Program = build_program([expr], [X, *candidate.symbols], native=native)
        self._fast = self._fast_path()

    def _fast_path(self) -> Any:
        # A bare input or constant has no instructions; keep the interpreter out of the way.
        out = self.program.outputs[0]
        if isinstance(out, Slot) and out.index == 0:
            return lambda x: x
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._fast is not None:
            return self._fast(x)
        values = [x, *(getattr(self, f"p_{n}") for n in self.names)]
        out = run_program(self.program, values)[0]
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            # A constant function still has a (zero) gradient with respect to x.
            out = out + 0 * x
        return out

    def param_values(self) -> dict[str, float]:
        return {n: float(getattr(self, f"p_{n}").detach()) for n in self.names}

    def to_candidate(self) -> Candidate:
        """The candidate with the module's current (possibly learned) parameter values."""
        params = {
            n: Param(v, self.candidate.params[n].trainable) for n, v in self.param_values().items()
        }
        return Candidate(
            self.candidate.expr, params, self.candidate.family, self.candidate.built_from
        )

    def sympy(self) -> Any:
        """The expression with the current parameter values substituted."""
        return self.candidate.expr.xreplace(
            {symbol(n): sympy.Float(v) for n, v in self.param_values().items()}
        )

    def extra_repr(self) -> str:
        return f"{self.candidate.expr}"
