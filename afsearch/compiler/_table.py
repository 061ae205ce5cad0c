"""The table from SymPy node types to torch kernels.

One entry per SymPy function class: the name the generated code calls (a torch function or a
kernel of :mod:`afsearch.compiler._runtime`) and the callable itself. The compiler calls the
callable; the exporter prints the name. Arithmetic nodes (Add, Mul, Pow, Max, Min, Piecewise and
comparisons) are handled by the program builder, since they fold into infix code.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy
import torch
import torch.nn.functional as F

from afsearch.compiler import _native as N
from afsearch.compiler import _runtime as rt
from afsearch.exceptions import AfsearchError
from afsearch.expr import (
    chebyshev_series,
    legendre_series,
    power_series,
    sigmoid,
    softplus,
)


@dataclass(frozen=True)
class Kernel:
    """How one node type is computed: ``template`` formats the argument codes."""

    template: str
    fn: Callable[..., Any]


def _call(name: str, fn: Callable[..., Any]) -> Kernel:
    return Kernel(name + "({args})", fn)


FUNCTIONS: dict[type, Kernel] = {
    sympy.exp: _call("safe_exp", rt.safe_exp),
    sympy.log: _call("torch.log", torch.log),
    sympy.sin: _call("torch.sin", torch.sin),
    sympy.cos: _call("torch.cos", torch.cos),
    sympy.tan: _call("torch.tan", torch.tan),
    sympy.sinh: _call("safe_sinh", rt.safe_sinh),
    sympy.cosh: _call("safe_cosh", rt.safe_cosh),
    sympy.tanh: _call("torch.tanh", torch.tanh),
    sympy.asinh: _call("torch.asinh", torch.asinh),
    sympy.atan: _call("torch.atan", torch.atan),
    sympy.erf: _call("torch.erf", torch.erf),
    sympy.Abs: _call("torch.abs", torch.abs),
    sympy.sign: _call("torch.sign", torch.sign),
    sympy.sinc: _call("sinc", rt.sinc),
    sympy.Heaviside: _call("heaviside", rt.heaviside),
    # The derivative of a step is zero almost everywhere; SymPy's DiracDelta only appears in
    # derivatives of expressions that contain sign or Heaviside.
    sympy.DiracDelta: _call("dirac_delta", rt.dirac_delta),
    sigmoid: _call("torch.sigmoid", torch.sigmoid),
    softplus: _call("softplus", rt.softplus),
    power_series: _call("horner", rt.horner),
    chebyshev_series: _call("clenshaw_chebyshev", rt.clenshaw_chebyshev),
    legendre_series: _call("clenshaw_legendre", rt.clenshaw_legendre),
    # PyTorch's fused ops, for the subexpressions _native.native_form recognises.
    N.silu: _call("torch.nn.functional.silu", F.silu),
    N.silu_grad: _call("silu_grad", rt.silu_grad),
    N.gelu: _call("torch.nn.functional.gelu", F.gelu),
    N.gelu_grad: _call("gelu_grad", rt.gelu_grad),
    N.gelu_tanh: Kernel(
        "torch.nn.functional.gelu({0}, approximate='tanh')",
        lambda u: F.gelu(u, approximate="tanh"),
    ),
    N.mish: _call("torch.nn.functional.mish", F.mish),
    N.softplus_beta: _call("torch.nn.functional.softplus", F.softplus),
    N.elu: _call("torch.nn.functional.elu", F.elu),
    N.selu: _call("torch.selu", torch.selu),
    N.relu: _call("torch.relu", torch.relu),
    N.leaky_relu: _call("torch.nn.functional.leaky_relu", F.leaky_relu),
    N.prelu: _call("prelu", rt.prelu),
    N.hardsigmoid: _call("torch.nn.functional.hardsigmoid", F.hardsigmoid),
    N.hardswish: _call("torch.nn.functional.hardswish", F.hardswish),
    N.nonzero: _call("nonzero", rt.nonzero),
}

ADD = Kernel("({0} + {1})", operator.add)
SUB = Kernel("({0} - {1})", operator.sub)
MUL = Kernel("({0} * {1})", operator.mul)
DIV = Kernel("({0} / {1})", operator.truediv)
NEG = Kernel("(-{0})", operator.neg)
POW = Kernel("torch.pow({0}, {1})", torch.pow)
SQUARE = Kernel("torch.square({0})", torch.square)
SQRT = Kernel("torch.sqrt({0})", torch.sqrt)
RSQRT = Kernel("torch.rsqrt({0})", torch.rsqrt)
RECIPROCAL = Kernel("torch.reciprocal({0})", torch.reciprocal)
MAX = Kernel("maximum({0}, {1})", rt.maximum)
MIN = Kernel("minimum({0}, {1})", rt.minimum)
WHERE = Kernel("where({0}, {1}, {2})", rt.where)
RELATIONS: dict[type, Kernel] = {
    sympy.StrictGreaterThan: Kernel("({0} > {1})", operator.gt),
    sympy.GreaterThan: Kernel("({0} >= {1})", operator.ge),
    sympy.StrictLessThan: Kernel("({0} < {1})", operator.lt),
    sympy.LessThan: Kernel("({0} <= {1})", operator.le),
    sympy.Unequality: Kernel("({0} != {1})", operator.ne),
    sympy.Equality: Kernel("({0} == {1})", operator.eq),
}


def register_function(sympy_class: type, name: str, fn: Callable[..., Any]) -> None:
    """Teach the compiler a new SymPy function class.

    ``name`` is what exported code calls: a ``torch.`` function, or a function the exported
    module can reach. Registering a class twice is refused.
    """
    if sympy_class in FUNCTIONS:
        raise AfsearchError(f"The compiler already has a kernel for {sympy_class.__name__}.")
    FUNCTIONS[sympy_class] = _call(name, fn)


def supported_names() -> list[str]:
    return sorted(getattr(c, "__name__", str(c)) for c in FUNCTIONS)
