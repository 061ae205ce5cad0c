"""Every kernel of the compiler's table against SymPy's own evaluation, on inputs Hypothesis draws.

The tests are parametrized over :data:`afsearch.compiler._table.FUNCTIONS` itself, so an entry
added to the table is tested without touching this file; an entry whose domain is not the real
line (or that takes more than one argument) gets a :class:`Domain` in :data:`DOMAINS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import sympy
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from afsearch.compiler import CompiledActivation
from afsearch.compiler import _native as N
from afsearch.compiler import _table as T
from afsearch.exceptions import AfsearchError
from afsearch.expr import (
    Candidate,
    X,
    chebyshev_series,
    legendre_series,
    power_series,
    sigmoid,
    softplus,
)

RTOL = 1e-9
# Derandomized (the same examples every run) and without an example database in the checkout.
EXAMPLES = settings(max_examples=25, deadline=None, derandomize=True, database=None)
GRAD_EXAMPLES = settings(max_examples=5, deadline=None, derandomize=True, database=None)


@dataclass(frozen=True)
class Domain:
    """Where a function is tested: ``lo < x < hi`` (``not_zero``: x == 0 is left out), and
    how many coefficients it takes after its argument (0 for a plain unary function)."""

    lo: float = -20.0
    hi: float = 20.0
    not_zero: bool = False
    coefficients: int = 0
    # Kinks and steps sit at 0: finite differences need points at least this far from it.
    kink: float = 0.0
    # An absolute error floor, for kernels accurate in absolute but not relative terms.
    atol: float = 1e-300
    # Draw log(x) evenly in [log lo, log hi] (lo > 0), so small and large x both come up.
    log_scale: bool = False
    # Where the coefficients are drawn (PyTorch's ops take some only from a range).
    coefficient_range: tuple[float, float] = (-3.0, 3.0)


# Functions whose domain is not [-20, 20] or that take coefficients; anything else in the table
# is tested as a unary function on [-20, 20].
DOMAINS: dict[type, Domain] = {
    sympy.exp: Domain(-60.0, 60.0),
    sympy.log: Domain(1e-8, 1e8, log_scale=True),
    sympy.tan: Domain(-1.5, 1.5),
    sympy.sinh: Domain(-60.0, 60.0),
    sympy.cosh: Domain(-60.0, 60.0),
    sympy.asinh: Domain(-1e6, 1e6),
    sympy.Abs: Domain(-1e6, 1e6, kink=1e-3),
    sympy.sign: Domain(-1e6, 1e6, kink=1e-3),
    sympy.Heaviside: Domain(kink=1e-3),
    # DiracDelta(0) is infinite in SymPy; the kernel is the derivative almost everywhere.
    sympy.DiracDelta: Domain(not_zero=True, kink=1e-3),
    # sinc(u) = sin(u)/u is computed as torch.sinc(u/pi): the rounding of u/pi costs absolute,
    # not relative, accuracy next to the zeros at multiples of pi.
    sympy.sinc: Domain(atol=1e-15),
    sigmoid: Domain(-40.0, 40.0),
    softplus: Domain(-40.0, 40.0),
    power_series: Domain(-2.0, 2.0, coefficients=6),
    chebyshev_series: Domain(-1.0, 1.0, coefficients=6),
    legendre_series: Domain(-1.0, 1.0, coefficients=6),
    # PyTorch's fused ops (afsearch.compiler._native).
    N.relu: Domain(-1e6, 1e6, kink=1e-3),
    N.leaky_relu: Domain(-1e6, 1e6, kink=1e-3, coefficients=1, coefficient_range=(0.01, 0.9)),
    N.prelu: Domain(-1e6, 1e6, kink=1e-3, coefficients=1, coefficient_range=(0.01, 0.9)),
    # exp(u) - 1 as written (no expm1), like the expression it replaces: absolute accuracy.
    N.elu: Domain(-40.0, 40.0, kink=1e-3, coefficients=1, coefficient_range=(0.1, 3.0), atol=1e-15),
    N.selu: Domain(-40.0, 40.0, kink=1e-3, atol=1e-15),
    N.softplus_beta: Domain(-10.0, 10.0, coefficients=1, coefficient_range=(0.25, 2.0)),
    # Kinks at -3 and 3: tested between them (the flat parts are relu's).
    N.hardsigmoid: Domain(-2.9, 2.9),
    N.hardswish: Domain(-2.9, 2.9),
    N.mish: Domain(-40.0, 40.0),
    # PyTorch computes u*(1 + erf(u/sqrt 2))/2 as written: accurate in absolute terms only where
    # the bracket cancels (u << 0), as the erf expression it replaces was.
    N.gelu: Domain(atol=1e-15),
    N.gelu_tanh: Domain(atol=1e-15),
    N.gelu_grad: Domain(atol=1e-15),
    N.silu_grad: Domain(-40.0, 40.0, atol=1e-15),
    N.silu: Domain(-40.0, 40.0),
    # The divisor is itself except at 0 (where it is a tiny number instead).
    N.nonzero: Domain(-1e6, 1e6, not_zero=True),
}
SERIES = {power_series, chebyshev_series, legendre_series}


def domain_of(cls: type) -> Domain:
    return DOMAINS.get(cls, Domain())


def name_of(cls: Any) -> str:
    return getattr(cls, "__name__", str(cls))


def inputs(domain: Domain, *, away_from_kink: bool = False) -> st.SearchStrategy[list[float]]:
    point = st.floats(domain.lo, domain.hi, allow_nan=False, allow_infinity=False)
    if domain.log_scale:
        exponent = st.floats(math.log(domain.lo), math.log(domain.hi))
        point = exponent.map(lambda e: min(max(math.exp(e), domain.lo), domain.hi))
    if domain.not_zero:
        point = point.filter(lambda v: v != 0.0)
    if away_from_kink and domain.kink:
        point = point.filter(lambda v: abs(v) > domain.kink)
    return st.lists(point, min_size=1, max_size=6)


def coefficients(domain: Domain) -> st.SearchStrategy[list[float]]:
    if not domain.coefficients:
        return st.just([])
    lo, hi = domain.coefficient_range
    c = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if domain.coefficients == 1:
        return st.lists(c, min_size=1, max_size=1)
    return st.lists(c, min_size=1, max_size=domain.coefficients)


def sympy_values(expr: Any, points: list[float]) -> np.ndarray:
    """SymPy's own evaluation at the exact float64 points, to 30 digits."""
    return np.array([float(expr.xreplace({X: sympy.Float(p, 40)}).evalf(30)) for p in points])


def assert_close(got: np.ndarray, want: np.ndarray, atol: Any, what: str) -> None:
    """|got - want| <= atol + RTOL |want|, element by element (``atol`` may be an array)."""
    err = np.abs(got - want)
    bad = ~(err <= atol + RTOL * np.abs(want))
    assert not bad.any(), f"{what}: got {got[bad]}, SymPy says {want[bad]}"


def compiled(expr: Any) -> CompiledActivation:
    return CompiledActivation(Candidate(expr), torch.float64)


def uses(module: CompiledActivation, kernel: T.Kernel) -> bool:
    return any(ins.kernel.fn is kernel.fn for ins in module.program.instrs)


def scale(cls: type, cs: list[float], points: list[float]) -> np.ndarray:
    """An absolute error floor: float64 rounding in a sum of many terms is relative to the
    terms, not to the (possibly cancelling) sum. |T_k|, |P_k| <= 1 on [-1, 1]."""
    if cls is power_series:
        return np.array([sum(abs(c) * abs(p) ** k for k, c in enumerate(cs)) for p in points])
    if cls in SERIES:
        return np.full(len(points), sum(abs(c) for c in cs))
    return np.zeros(len(points))


FUNCTION_CLASSES = list(T.FUNCTIONS)
FUNCTION_IDS = [name_of(c) for c in FUNCTION_CLASSES]


@pytest.mark.parametrize("cls", FUNCTION_CLASSES, ids=FUNCTION_IDS)
def test_every_function_kernel_matches_sympy_in_float64(cls: type) -> None:
    domain = domain_of(cls)

    @EXAMPLES
    @given(points=inputs(domain), cs=coefficients(domain))
    def check(points: list[float], cs: list[float]) -> None:
        expr = cls(X, *[sympy.Float(c) for c in cs])
        # A series with zero coefficients folds to 0 and would not exercise the kernel.
        assume(isinstance(expr, cls))
        module = compiled(expr)
        assert uses(module, T.FUNCTIONS[cls]), module.program
        got = module(torch.tensor(points, dtype=torch.float64)).detach().numpy()
        want = sympy_values(expr, points)
        atol = domain.atol + 1e-12 * scale(cls, cs, points)
        assert_close(got, want, atol, f"{expr} at {points}")

    check()


# Kernels that only backward programs call (run without autograd): PyTorch has no derivative of
# silu_backward.
BACKWARD_ONLY = {N.silu_grad}


@pytest.mark.parametrize("cls", FUNCTION_CLASSES, ids=FUNCTION_IDS)
def test_every_function_kernel_passes_gradcheck(cls: type) -> None:
    if cls in BACKWARD_ONLY:
        pytest.skip(f"{name_of(cls)} is only called by backward programs")
    domain = domain_of(cls)
    narrow = Domain(max(domain.lo, -8.0), min(domain.hi, 8.0), domain.not_zero, kink=domain.kink)
    if cls is sympy.log:
        narrow = Domain(1e-2, 50.0)

    @GRAD_EXAMPLES
    @given(points=inputs(narrow, away_from_kink=True), cs=coefficients(domain))
    def check(points: list[float], cs: list[float]) -> None:
        expr = cls(X, *[sympy.Float(c) for c in cs])
        assume(isinstance(expr, cls))
        module = compiled(expr)
        x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5, rtol=1e-4)

    check()


def test_every_domain_names_a_function_of_the_table() -> None:
    stale = [name_of(c) for c in DOMAINS if c not in T.FUNCTIONS]
    assert not stale, f"DOMAINS names functions the table no longer has: {stale}"


# Arithmetic: which expression makes the program builder emit each kernel, and where.
@dataclass(frozen=True)
class Arith:
    kernel: T.Kernel
    build: Callable[[Any], Any]
    domain: Domain = Domain()


ARITHMETIC: dict[str, Arith] = {
    "ADD": Arith(T.ADD, lambda x: x + sympy.sin(x)),
    "SUB": Arith(T.SUB, lambda x: x - sympy.Rational(3, 2)),
    "MUL": Arith(T.MUL, lambda x: x * sympy.sin(x)),
    "DIV": Arith(T.DIV, lambda x: x / (x**2 + 1)),
    "NEG": Arith(T.NEG, lambda x: -x),
    "POW": Arith(T.POW, lambda x: x**3, Domain(-1e3, 1e3)),
    "POW-fractional": Arith(T.POW, lambda x: x ** sympy.Rational(3, 2), Domain(0.0, 1e3)),
    "SQUARE": Arith(T.SQUARE, lambda x: x**2, Domain(-1e6, 1e6)),
    "SQRT": Arith(T.SQRT, sympy.sqrt, Domain(0.0, 1e6)),
    "RSQRT": Arith(T.RSQRT, lambda x: 1 / sympy.sqrt(x), Domain(1e-6, 1e6, log_scale=True)),
    "RECIPROCAL": Arith(T.RECIPROCAL, lambda x: 1 / x, Domain(-1e6, 1e6, not_zero=True)),
    "MAX": Arith(T.MAX, lambda x: sympy.Max(x, sympy.Rational(1, 2))),
    "MAX-tensors": Arith(T.MAX, lambda x: sympy.Max(x, sympy.sin(x))),
    "MIN": Arith(T.MIN, lambda x: sympy.Min(x, sympy.Rational(1, 2))),
    "MIN-tensors": Arith(T.MIN, lambda x: sympy.Min(x, sympy.sin(x))),
    "WHERE": Arith(T.WHERE, lambda x: sympy.Piecewise((x, x > 0), (2 * x, True))),
    **{
        f"RELATIONS-{rel.__name__}": Arith(
            kernel,
            lambda x, rel=rel: sympy.Piecewise((x + 3, rel(x, 0)), (x - 5, True)),
            Domain(-3.0, 3.0),
        )
        for rel, kernel in T.RELATIONS.items()
    },
}


@pytest.mark.parametrize("name", list(ARITHMETIC))
def test_every_arithmetic_kernel_matches_sympy_in_float64(name: str) -> None:
    case = ARITHMETIC[name]
    expr = case.build(X)
    module = compiled(expr)
    assert uses(module, case.kernel), module.program

    @EXAMPLES
    @given(points=inputs(case.domain))
    def check(points: list[float]) -> None:
        got = module(torch.tensor(points, dtype=torch.float64)).detach().numpy()
        want = sympy_values(expr, points)
        assert_close(got, want, case.domain.atol, f"{expr} at {points}")

    check()


def test_every_arithmetic_kernel_has_a_case() -> None:
    kernels = [v for v in vars(T).values() if isinstance(v, T.Kernel)]
    kernels += list(T.RELATIONS.values())
    covered = {id(case.kernel) for case in ARITHMETIC.values()}
    missing = [k.template for k in kernels if id(k) not in covered]
    assert not missing, f"arithmetic kernels without a case in ARITHMETIC: {missing}"


@pytest.mark.parametrize("name", list(ARITHMETIC))
def test_every_arithmetic_kernel_passes_gradcheck(name: str) -> None:
    case = ARITHMETIC[name]
    module = compiled(case.build(X))
    lo, hi = max(case.domain.lo, -8.0), min(case.domain.hi, 8.0)
    if lo >= 0:
        lo = max(lo, 0.1)
    # Away from the kinks of Max/Min/Piecewise (at 0, 1/2 and the crossings of x and sin x).
    point = st.floats(lo, hi).filter(
        lambda v: all(abs(v - k) > 1e-3 for k in (0.0, 0.5, math.pi, -math.pi))
    )

    @GRAD_EXAMPLES
    @given(points=st.lists(point, min_size=1, max_size=4))
    def check(points: list[float]) -> None:
        x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5, rtol=1e-4)

    check()


def test_register_function_adds_a_kernel_and_refuses_a_second(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(T, "FUNCTIONS", dict(T.FUNCTIONS))

    class cube(sympy.Function):
        nargs = 1

        def _eval_evalf(self, prec: int) -> Any:
            return (self.args[0] ** 3)._eval_evalf(prec)

    with pytest.raises(AfsearchError, match="no kernel for cube"):
        compiled(cube(X))
    T.register_function(cube, "torch.cube", lambda u: u**3)
    assert "cube" in T.supported_names()
    x = torch.tensor([-1.5, 0.25, 2.0], dtype=torch.float64)
    torch.testing.assert_close(compiled(cube(X))(x), x**3)
    with pytest.raises(AfsearchError, match="already has a kernel for cube"):
        T.register_function(cube, "torch.cube", lambda u: u**3)
    with pytest.raises(AfsearchError, match="already has a kernel for exp"):
        T.register_function(sympy.exp, "torch.exp", torch.exp)


def test_higher_order_dirac_delta_compiles_to_zero() -> None:
    expr = sympy.diff(sympy.Heaviside(X), X, 2)
    x = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(compiled(expr)(x), torch.zeros_like(x))
