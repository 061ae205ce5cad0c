"""Straight-line programs built from SymPy trees.

A :class:`Program` is a list of instructions ``slot = kernel(args)`` in topological order, with
identical subtrees computed once. The compiled ``nn.Module`` interprets it; the exporter prints
it as Python source. Both therefore run the same sequence of kernels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import sympy

from afsearch.compiler import _table as T
from afsearch.compiler._native import native_form
from afsearch.exceptions import AfsearchError

Arg = Union["Slot", float, bool]


@dataclass(frozen=True)
class Slot:
    index: int


@dataclass(frozen=True)
class Instr:
    out: int
    kernel: T.Kernel
    args: tuple[Arg, ...]


@dataclass
class Program:
    """Inputs occupy the first slots: ``x`` then the parameters, in the order given."""

    inputs: tuple[str, ...]
    instrs: list[Instr] = field(default_factory=list)
    outputs: list[Arg] = field(default_factory=list)
    # Per instruction, the temporaries it uses for the last time (see run_program).
    _frees: list[tuple[int, ...]] | None = field(default=None, repr=False, compare=False)

    def frees(self) -> list[tuple[int, ...]]:
        """The slots each instruction reads for the last time, inputs and outputs left out."""
        if self._frees is None:
            last: dict[int, int] = {}
            for i, ins in enumerate(self.instrs):
                for a in ins.args:
                    if isinstance(a, Slot):
                        last[a.index] = i
            keep = {o.index for o in self.outputs if isinstance(o, Slot)}
            keep |= set(range(len(self.inputs)))
            out: list[list[int]] = [[] for _ in self.instrs]
            for slot, i in last.items():
                if slot not in keep:
                    out[i].append(slot)
            self._frees = [tuple(f) for f in out]
        return self._frees

    @property
    def num_slots(self) -> int:
        return len(self.inputs) + len(self.instrs)


class _Builder:
    def __init__(self, inputs: Sequence[sympy.Symbol]) -> None:
        self.x = inputs[0]
        self.symbols = {s: Slot(i) for i, s in enumerate(inputs)}
        self.program = Program(tuple(s.name for s in inputs))
        self.memo: dict[Any, Arg] = {}

    def emit(self, kernel: T.Kernel, *args: Arg) -> Slot:
        kernel = _variadic(kernel, len(args))
        slot = Slot(self.program.num_slots)
        self.program.instrs.append(Instr(slot.index, kernel, tuple(args)))
        return slot

    def build(self, expr: Any) -> Arg:
        key = expr
        if key in self.memo:
            return self.memo[key]
        out = self._build(expr)
        self.memo[key] = out
        return out

    def _constant(self, expr: Any) -> Arg:
        if expr in (sympy.true, sympy.false):
            return bool(expr)
        value = complex(sympy.N(expr, 17))
        if value.imag != 0:
            raise AfsearchError(f"The constant {expr} is not real; activations are real-valued.")
        return float(value.real)

    def _build(self, e: Any) -> Arg:
        if isinstance(e, sympy.Symbol):
            if e not in self.symbols:
                raise AfsearchError(
                    f"The symbol {e.name!r} has no value; give it as a parameter "
                    f"(known: {', '.join(s.name for s in self.symbols)})."
                )
            return self.symbols[e]
        if not e.free_symbols:
            return self._constant(e)
        if isinstance(e, sympy.Add):
            return self._add(e)
        if isinstance(e, sympy.Mul):
            return self._mul(e)
        if isinstance(e, sympy.Pow):
            return self._pow(e)
        if isinstance(e, (sympy.Max, sympy.Min)):
            kernel = T.MAX if isinstance(e, sympy.Max) else T.MIN
            args = [self.build(a) for a in e.args]
            acc = args[0]
            for a in args[1:]:
                acc = self.emit(kernel, acc, a)
            return acc
        if isinstance(e, sympy.Piecewise):
            return self._piecewise(e)
        if type(e) in T.RELATIONS:
            return self.emit(T.RELATIONS[type(e)], self.build(e.lhs), self.build(e.rhs))
        if isinstance(e, sympy.Heaviside):
            # Heaviside(u) and Heaviside(u, 1/2) are the same function here.
            h0 = e.args[1] if len(e.args) > 1 else sympy.S.Half
            if h0 != sympy.S.Half:
                raise AfsearchError("Only Heaviside with value 1/2 at 0 is supported.")
            return self.emit(T.FUNCTIONS[sympy.Heaviside], self.build(e.args[0]))
        found = T.FUNCTIONS.get(type(e))
        if found is None:
            raise AfsearchError(
                f"The compiler has no kernel for {type(e).__name__}; supported functions are "
                f"{', '.join(T.supported_names())}."
            )
        args = [self.build(a) for a in e.args]
        kernel = found
        return self.emit(kernel, *args)

    def _add(self, e: Any) -> Arg:
        terms = list(e.args)
        # Put constants last and subtract negated terms, so the code reads as written.
        terms.sort(key=lambda t: (not t.free_symbols, sympy.default_sort_key(t)))
        acc: Arg = self.build(terms[0])
        acc_expr = terms[0]
        for t in terms[1:]:
            acc_expr = acc_expr + t
            if acc_expr in self.memo:
                acc = self.memo[acc_expr]
                continue
            coeff, rest = t.as_coeff_Mul()
            if coeff.is_negative:
                acc = self.emit(T.SUB, acc, self.build(-coeff * rest))
            else:
                acc = self.emit(T.ADD, acc, self.build(t))
            self.memo[acc_expr] = acc
        return acc

    def _mul(self, e: Any) -> Arg:
        coeff, rest = e.as_coeff_Mul()
        if coeff == -1:
            return self.emit(T.NEG, self.build(rest))
        num: list[Any] = []
        den: list[Any] = []
        for f in sympy.Mul.make_args(e):
            if isinstance(f, sympy.Pow) and f.exp.is_Number and f.exp.is_negative:
                den.append(f.base ** (-f.exp))
            else:
                num.append(f)
        # Numbers fold into one constant, then parameters, then the factors with the input: the
        # scalar work happens on 0-d tensors and the tensor sees a single multiply.
        constant = sympy.Mul(*[f for f in num if not f.free_symbols]) / sympy.Mul(
            *[f for f in den if not f.free_symbols]
        )
        num = [f for f in num if f.free_symbols]
        den = [f for f in den if f.free_symbols]
        params = sorted(
            [f for f in num if self.x not in f.free_symbols], key=sympy.default_sort_key
        )
        tensors = sorted([f for f in num if self.x in f.free_symbols], key=sympy.default_sort_key)
        num = ([constant] if constant != 1 or not (params or tensors) else []) + params + tensors
        acc: Arg | None = None
        acc_expr: Any = None
        for f in num:
            if acc is None:
                acc, acc_expr = self.build(f), f
                continue
            acc_expr = acc_expr * f
            if acc_expr in self.memo:
                acc = self.memo[acc_expr]
                continue
            acc = self.emit(T.MUL, acc, self.build(f))
            self.memo[acc_expr] = acc
        for f in den:
            arg = self.build(f)
            acc = self.emit(T.RECIPROCAL, arg) if acc is None else self.emit(T.DIV, acc, arg)
        assert acc is not None
        return acc

    def _pow(self, e: Any) -> Arg:
        base, exp = e.args
        if exp == 2:
            return self.emit(T.SQUARE, self.build(base))
        if exp == sympy.S.Half:
            return self.emit(T.SQRT, self.build(base))
        if exp == -sympy.S.Half:
            return self.emit(T.RSQRT, self.build(base))
        if exp == -1:
            return self.emit(T.RECIPROCAL, self.build(base))
        if base == sympy.E:
            return self.emit(T.FUNCTIONS[sympy.exp], self.build(exp))
        b, x = self.build(base), self.build(exp)
        if isinstance(x, float) and x.is_integer():
            x = float(int(x))
        return self.emit(T.POW, b, x)

    def _piecewise(self, e: Any) -> Arg:
        pieces = list(e.args)
        last_expr, last_cond = pieces[-1]
        if last_cond != sympy.true:
            raise AfsearchError(
                "A Piecewise expression must end with an 'otherwise' branch (condition True)."
            )
        acc = self.build(last_expr)
        for expr, cond in reversed(pieces[:-1]):
            acc = self.emit(T.WHERE, self.build(cond), self.build(expr), acc)
        return acc


def _variadic(kernel: T.Kernel, n: int) -> T.Kernel:
    if "{args}" not in kernel.template:
        return kernel
    joined = ", ".join(f"{{{i}}}" for i in range(n))
    return T.Kernel(kernel.template.replace("{args}", joined), kernel.fn)


def fold_value(value: float) -> Any:
    """A parameter value as a SymPy number: a whole number as an Integer, so SymPy simplifies
    ``1*x`` to ``x`` and ``0*x`` to 0 (a Float 1.0 does not compare equal to 1 in SymPy)."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 2**53:
        return sympy.Integer(int(value))
    return sympy.Float(value)


def build_program(
    exprs: Sequence[Any],
    inputs: Sequence[sympy.Symbol],
    *,
    native: bool = True,
    symbolic_scale: bool = True,
) -> Program:
    """Compile one or more expressions over ``inputs`` into one program sharing subtrees.

    ``native``: subexpressions PyTorch computes in one fused kernel (SiLU, GELU, ELU, ...)
    become that kernel (:func:`afsearch.compiler._native.native_form`; ``symbolic_scale``
    is passed on).
    """
    b = _Builder(inputs)
    trees = [sympy.sympify(e) for e in exprs]
    if native:
        trees = [native_form(t, symbolic_scale=symbolic_scale) for t in trees]
    b.program.outputs = [b.build(t) for t in trees]
    return b.program


def depends_on_input(program: Program, arg: Arg, index: int = 0) -> bool:
    """Whether ``arg`` depends on input slot ``index`` (x by default)."""
    if not isinstance(arg, Slot):
        return False
    deps: set[int] = {index}
    for ins in program.instrs:
        if any(isinstance(a, Slot) and a.index in deps for a in ins.args):
            deps.add(ins.out)
    return arg.index in deps


def run_program(program: Program, values: Sequence[Any]) -> list[Any]:
    """Interpret ``program`` on input values (tensors or numbers); returns the outputs."""
    env: list[Any] = list(values) + [None] * len(program.instrs)
    # Each temporary is dropped after its last use, so a program run without autograd holds
    # few full-size tensors at once (as the exported code does with ``del``).
    for ins, dead in zip(program.instrs, program.frees()):
        env[ins.out] = ins.kernel.fn(
            *[env[a.index] if isinstance(a, Slot) else a for a in ins.args]
        )
        for d in dead:
            env[d] = None
    return [env[o.index] if isinstance(o, Slot) else o for o in program.outputs]


def program_source(
    program: Program, names: Sequence[str], indent: str = "    "
) -> tuple[list[str], list[str]]:
    """Print the program as Python statements; ``names`` names the input slots."""
    slot_names = list(names) + [f"t{i}" for i in range(len(program.instrs))]

    def code(a: Arg) -> str:
        if isinstance(a, Slot):
            return slot_names[a.index]
        if isinstance(a, bool):
            return repr(a)
        value = float(a)
        return repr(value) if math.isfinite(value) else f"float('{value}')"

    # Free each temporary after its last use, so eager code holds few full-size tensors.
    last_use: dict[int, int] = {}
    for i, ins in enumerate(program.instrs):
        for a in ins.args:
            if isinstance(a, Slot):
                last_use[a.index] = i
    keep = {o.index for o in program.outputs if isinstance(o, Slot)} | set(range(len(names)))
    lines = []
    for i, ins in enumerate(program.instrs):
        lines.append(
            f"{indent}{slot_names[ins.out]} = " + ins.kernel.template.format(*map(code, ins.args))
        )
        dead = sorted({a.index for a in ins.args if isinstance(a, Slot)} - keep)
        dead = [d for d in dead if last_use.get(d) == i]
        if dead:
            lines.append(f"{indent}del " + ", ".join(slot_names[d] for d in dead))
    return lines, [code(o) for o in program.outputs]
