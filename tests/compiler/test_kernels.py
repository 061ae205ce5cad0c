"""Kernels for SLAF and rational units: which expressions get one, agreement with SymPy and with
the program path, gradcheck of the input and the coefficients (trainable and frozen), second
derivatives, the memory kept, the module's parameters by name, the compiled CPU kernel and its
on-disk cache, and the Triton programs under Triton's interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch

from afsearch.activations import build
from afsearch.activations._slaf import BASES, NORMALIZE, TAILS
from afsearch.compiler import CompiledActivation
from afsearch.compiler._cost import kept_bytes
from afsearch.compiler._kernels import apply_kernel, match_kernel
from afsearch.expr import Candidate, Param, X, chebyshev_series, power_series, symbol, to_elementary
from tests.activations.conftest import CONFIGS

ROOT = Path(__file__).resolve().parents[2]
# Away from the kinks: 0 (ReLU mix, the rational's |x Q(x)|) and +-3 (the tail's edge).
POINTS = [-7.3, -4.4, -2.6, -1.7, -0.55, 0.35, 1.45, 2.3, 3.7, 9.1]
KERNEL_CLASS = {
    "power": "PowerKernel",
    "chebyshev": "ChebyshevKernel",
    "legendre": "LegendreKernel",
    "fourier": "FourierKernel",
    "rbf": "RbfKernel",
}


def kernel_configs() -> list[tuple[str, dict]]:
    """Every basis with every input normalisation and tail, the ReLU mix, extreme degrees and
    rational units."""
    configs = []
    for basis in BASES:
        for normalize in NORMALIZE:
            for tail in TAILS:
                configs.append(
                    (
                        f"slaf-{basis}-{normalize}-{tail}",
                        {"family": "slaf", "basis": basis, "degree": 5, "normalize": normalize,
                         "tail": tail},
                    )
                )  # fmt: skip
    slaf = {"family": "slaf"}
    configs += [
        ("slaf-chebyshev6-mix", {**slaf, "basis": "chebyshev", "degree": 6, "relu_mix": 0.5}),
        ("slaf-power3-mix-notail", {**slaf, "degree": 3, "relu_mix": 1.0, "tail": "none"}),
        ("slaf-fourier2-mix", {**slaf, "basis": "fourier", "degree": 2, "relu_mix": 0.3}),
        ("slaf-rbf4-tanh-mix", {**slaf, "basis": "rbf", "degree": 4, "normalize": "tanh",
                                "relu_mix": 0.2}),
        ("slaf-chebyshev1", {**slaf, "basis": "chebyshev", "degree": 1}),
        ("slaf-legendre16", {**slaf, "basis": "legendre", "degree": 16}),
        ("slaf-power8-frozen", {**slaf, "degree": 8, "trainable": False}),
        ("slaf-rbf1", {**slaf, "basis": "rbf", "degree": 1}),
        ("rational", {"family": "rational"}),
        ("rational-3-2-gelu", {"family": "rational", "m": 3, "n": 2, "init": "gelu"}),
        ("rational-0-1", {"family": "rational", "m": 0, "n": 1, "numerator": [0.7],
                          "denominator": [0.4]}),
    ]  # fmt: skip
    return configs


KERNEL_CONFIGS = kernel_configs()
IDS = [n for n, _ in KERNEL_CONFIGS]


def kernel_module(config: dict, dtype: torch.dtype = torch.float64) -> CompiledActivation:
    module = CompiledActivation(build(config), dtype, fold=True, kernel=True)
    assert module.kernel is not None, config
    return module


def coefficients(module: CompiledActivation, trainable: bool = True) -> torch.Tensor:
    return module.coefficients.detach().clone().requires_grad_(trainable)


# --- which expressions have a kernel ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "config"),
    [c for c in CONFIGS if c[1]["family"] in ("slaf", "rational")] + KERNEL_CONFIGS,
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_slaf_and_rational_config_has_its_kernel(name: str, config: dict) -> None:
    module = kernel_module(config)
    want = (
        "RationalKernel"
        if config["family"] == "rational"
        else KERNEL_CLASS[config.get("basis", "power")]
    )
    assert type(module.kernel).__name__ == want
    assert module.kernel.mix == (config.get("relu_mix") is not None)
    assert sorted(module.kernel_names) == sorted(module.names)


@pytest.mark.parametrize(
    ("name", "config"),
    [c for c in CONFIGS if c[1]["family"] not in ("slaf", "rational")],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_other_families_keep_the_program(name: str, config: dict) -> None:
    assert CompiledActivation(build(config), kernel=True).kernel is None


def test_per_channel_units_keep_the_program() -> None:
    cand = build({"family": "rational", "per_channel": True})
    assert CompiledActivation(cand, kernel=True, channels=4).kernel is None
    assert CompiledActivation(cand, kernel=True).kernel is not None


a0, a1, b1, b2, m = (symbol(n) for n in ("a0", "a1", "b1", "b2", "m"))


@pytest.mark.parametrize(
    "expr",
    [
        chebyshev_series(X / 3, a0, 2 * a1),  # a coefficient that is not a bare parameter
        chebyshev_series(X**2 / 3, a0, a1),  # not a linear input
        chebyshev_series(X / 3, a0, a0),  # one parameter twice
        chebyshev_series(X / 3, a0, a1) + b1 * X,  # a term the kernel does not compute
        chebyshev_series(X / 3, a0, a1) + m * sympy.Max(0, X) + b1 * sympy.Max(0, X),
        power_series(X, a0, a1) / (1 + sympy.Abs(power_series(X, b1, b2))),  # no x factor
        power_series(X, a0, a1) / (2 + sympy.Abs(X * power_series(X, b1, b2))),
        a0 + a1 * sympy.cos(X) + b1 * sympy.sin(2 * X),  # mismatched harmonics
        a0 + a1 * sympy.cos(X) + b1 * sympy.sin(X) + b2 * sympy.sin(2 * X),
        a0 + a1 * X + b1 * sympy.exp(X**2),  # a growing "bump"
        a0 + a1 * X + b1 * sympy.exp(-(X**3)),
    ],
    ids=str,
)
def test_near_misses_keep_the_program(expr: sympy.Expr) -> None:
    assert match_kernel(expr) is None
    names = sorted(s.name for s in expr.free_symbols if s != X)
    cand = Candidate(expr, {n: Param(0.5, True) for n in names})
    assert CompiledActivation(cand, kernel=True).kernel is None


def test_a_written_expression_of_the_same_form_gets_the_kernel() -> None:
    expr = chebyshev_series(X / 2, a0, a1) + m * sympy.Max(0, X)
    kernel, names = match_kernel(expr)
    assert type(kernel).__name__ == "ChebyshevKernel" and kernel.scale == 0.5 and kernel.mix
    assert names == ("a0", "a1", "m")


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "config"), KERNEL_CONFIGS, ids=IDS)
def test_kernel_agrees_with_the_sympy_expression(name: str, config: dict) -> None:
    cand = build(config)
    module = kernel_module(config)
    grid = np.linspace(-8.0, 8.0, 41)
    exact = to_elementary(cand.substituted())
    want = np.array([float(exact.subs(X, sympy.Float(v, 30)).evalf(30)) for v in grid])
    got = module(torch.tensor(grid, dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * (1 + np.abs(want).max()))


@pytest.mark.parametrize(("name", "config"), KERNEL_CONFIGS, ids=IDS)
def test_kernel_gradients_match_the_program_path(name: str, config: dict) -> None:
    cand = build(config)
    kernel = kernel_module(config)
    program = CompiledActivation(cand, torch.float64, fold=True)
    x = torch.tensor(POINTS, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(kernel(x), program(x))
    trainable = [n for n in program.names if cand.params[n].trainable]
    wrt = [x, *(getattr(program, f"p_{n}") for n in trainable)]
    want = torch.autograd.grad(program(x).sin().sum(), wrt)
    got_x, *got_c = torch.autograd.grad(kernel(x).sin().sum(), [x, *kernel.parameters()])
    torch.testing.assert_close(got_x, want[0])
    assert len(got_c) == int(bool(trainable))
    index = {n: i for i, n in enumerate(kernel.kernel_names)}
    for n, w in zip(trainable, want[1:]):
        torch.testing.assert_close(got_c[0][index[n]], w, msg=n)


@pytest.mark.parametrize("frozen", [False, True], ids=["trainable", "frozen"])
@pytest.mark.parametrize(("name", "config"), KERNEL_CONFIGS, ids=IDS)
def test_gradcheck_input_and_coefficients(name: str, config: dict, frozen: bool) -> None:
    module = kernel_module(config)
    x = torch.tensor(POINTS, dtype=torch.float64, requires_grad=True)
    coeffs = coefficients(module, not frozen)

    def f(x: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
        return apply_kernel(module.kernel, False, x, coeffs)

    assert torch.autograd.gradcheck(f, (x, coeffs), eps=1e-6, atol=1e-5, rtol=1e-4)


SECOND = [
    "slaf-chebyshev6-mix",
    "slaf-legendre-tanh-none",
    "slaf-power-none-linear",
    "slaf-fourier2-mix",
    "slaf-rbf4-tanh-mix",
    "rational",
]


@pytest.mark.parametrize("name", SECOND)
def test_second_derivatives_match_the_program_path(name: str) -> None:
    config = dict(KERNEL_CONFIGS)[name]
    kernel = kernel_module(config)
    program = CompiledActivation(build(config), torch.float64, fold=True)
    x = torch.tensor(POINTS, dtype=torch.float64, requires_grad=True)
    second = []
    for module in (kernel, program):
        (d1,) = torch.autograd.grad(module(x).sum(), x, create_graph=True)
        (d2,) = torch.autograd.grad(d1.sum(), x)
        second.append(d2)
    torch.testing.assert_close(second[0], second[1])
    coeffs = coefficients(kernel)

    def f(x: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
        return apply_kernel(kernel.kernel, False, x, coeffs)

    assert torch.autograd.gradgradcheck(f, (x, coeffs), eps=1e-6, atol=1e-4, rtol=1e-3)


def test_the_kernel_keeps_only_its_input_for_backward() -> None:
    x = torch.randn(4096, dtype=torch.float64, requires_grad=True)
    relu_bytes = kept_bytes(torch.relu, x)
    for config in ({"family": "slaf", "basis": "chebyshev", "degree": 6}, {"family": "rational"}):
        program = CompiledActivation(build(config), torch.float64, fold=True)
        assert kept_bytes(program, x) > 3 * relu_bytes
        # The output and the coefficient vector; x is the layer before's.
        assert kept_bytes(kernel_module(config), x) < 1.05 * relu_bytes


# --- the module ------------------------------------------------------------------------------


def test_the_module_reads_as_one_with_a_parameter_per_name() -> None:
    config = {"family": "slaf", "basis": "chebyshev", "degree": 4, "relu_mix": 0.5}
    cand = build(config)
    kernel = kernel_module(config, torch.float32)
    program = CompiledActivation(cand, fold=True)
    assert [n for n, _ in kernel.named_parameters()] == ["coefficients"]
    assert list(kernel.state_dict()) == list(program.state_dict())
    assert kernel.param_values() == pytest.approx(program.param_values())
    assert float(kernel.p_m.detach()) == pytest.approx(0.5) and kernel.p_m.requires_grad
    # state_dicts travel both ways by name.
    shifted = {k: v + 1.0 for k, v in program.state_dict().items()}
    kernel.load_state_dict(shifted)
    program.load_state_dict(kernel.state_dict())
    assert kernel.param_values() == pytest.approx({n: v + 1 for n, v in cand.values.items()})
    assert program.param_values() == pytest.approx(kernel.param_values())
    assert kernel.to_candidate().values == pytest.approx(kernel.param_values())
    # A gradient step moves a trainable coefficient.
    opt = torch.optim.SGD(kernel.parameters(), lr=0.1)
    before = kernel.param_values()
    kernel(torch.linspace(-4, 4, 64)).square().sum().backward()
    opt.step()
    moved = [n for n, v in kernel.param_values().items() if v != pytest.approx(before[n])]
    assert sorted(moved) == sorted(cand.params)


def test_frozen_coefficients_are_a_buffer_that_no_step_moves() -> None:
    kernel = kernel_module({"family": "slaf", "degree": 3, "trainable": False})
    assert list(kernel.parameters()) == [] and "p_a2" in kernel.state_dict()
    x = torch.linspace(-4, 4, 16, dtype=torch.float64, requires_grad=True)
    kernel(x).sum().backward()
    assert x.grad is not None and kernel.coefficients.grad is None


def test_eval_mode_without_grad_gives_the_same_values() -> None:
    kernel = kernel_module({"family": "rational"}, torch.float32)
    x = torch.randn(5, 7)
    with torch.no_grad():
        y = kernel(x)
    torch.testing.assert_close(y, kernel(x).detach())
    assert y.shape == x.shape


def test_the_cpu_path_never_imports_the_triton_module() -> None:
    kernel = kernel_module({"family": "slaf", "basis": "legendre", "degree": 3})
    kernel(torch.randn(8, dtype=torch.float64, requires_grad=True)).sum().backward()
    assert "afsearch.compiler._kernels._triton" not in sys.modules
    assert "afsearch.compiler._kernels._triton_kernels" not in sys.modules


# --- compiled on the CPU ---------------------------------------------------------------------

COMPILED = [
    {"family": "slaf", "basis": "chebyshev", "degree": 6, "relu_mix": 0.5},
    {"family": "rational"},
]


@pytest.mark.slow
@pytest.mark.parametrize("config", COMPILED, ids=["slaf-chebyshev6-mix", "rational"])
def test_the_compiled_cpu_kernel_matches_and_passes_gradcheck(config: dict) -> None:
    from afsearch.compiler._kernels._inductor import compiled_backward, compiled_forward

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed compile warns and falls back: make it fail
        for dtype in (torch.float32, torch.float64):
            eager = kernel_module(config, dtype)
            compiled = kernel_module(config, dtype)
            compiled.use_compiled()
            x = (3 * torch.randn(3, 2000, dtype=dtype)).requires_grad_()
            tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {}
            torch.testing.assert_close(compiled(x), eager(x), **tol)
            got = torch.autograd.grad(compiled(x).sin().sum(), [x, compiled.coefficients])
            want = torch.autograd.grad(eager(x).sin().sum(), [x, eager.coefficients])
            for a, b in zip(got, want):
                torch.testing.assert_close(a, b, **tol)
        kernel = compiled.kernel
        assert compiled_forward(kernel, torch.float64) is not None
        x = torch.tensor(POINTS, dtype=torch.float64, requires_grad=True)
        for frozen in (False, True):
            coeffs = coefficients(compiled, not frozen)

            def f(x: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
                return apply_kernel(kernel, True, x, coeffs)

            assert torch.autograd.gradcheck(f, (x, coeffs), eps=1e-6, atol=1e-5, rtol=1e-4)
            assert compiled_backward(kernel, torch.float64, not frozen) is not None
        # A transposed input and the stride-0 gradient of a sum.
        xt = (3 * torch.randn(40, 30, dtype=torch.float64)).t()
        got = torch.autograd.grad(compiled(xt.requires_grad_()).sum(), [xt, compiled.coefficients])
        want = torch.autograd.grad(eager(xt).sum(), [xt, eager.coefficients])
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)
        # A backward that must be differentiable runs the torch ops: same second derivative.
        d2 = []
        for module in (compiled, eager):
            (d1,) = torch.autograd.grad(module(x).sum(), x, create_graph=True)
            d2.append(torch.autograd.grad(d1.sum(), x)[0])
        torch.testing.assert_close(d2[0], d2[1])


_CACHE_PROBE = """
import json, time, torch
from torch._dynamo.utils import counters
from afsearch.activations import build
from afsearch.compiler import CompiledActivation
m = CompiledActivation(build({"family": "slaf", "basis": "legendre", "degree": 3}), kernel=True)
before = m.kernel_compiled_here()
m.use_compiled()
start = time.perf_counter()
m(torch.randn(256, requires_grad=True)).sum().backward()
seconds = time.perf_counter() - start
print(json.dumps({"before": before, "after": m.kernel_compiled_here(), "seconds": seconds,
                  **counters["inductor"]}))
"""


@pytest.mark.slow
def test_a_structure_compiles_once_and_later_processes_load_it(tmp_path: Path) -> None:
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor")}

    def run() -> dict:
        done = subprocess.run(
            [sys.executable, "-c", _CACHE_PROBE],
            capture_output=True, text=True, env=env, cwd=ROOT, check=True, timeout=600,
        )  # fmt: skip
        return json.loads(done.stdout.strip().splitlines()[-1])

    first, second = run(), run()
    # The first compiles the forward and the backward with coefficient gradients ...
    assert not first["before"] and first["after"] and first.get("fxgraph_cache_miss") == 2
    # ... the second loads both from disk: inductor compiles nothing.
    assert second["before"] and "fxgraph_cache_miss" not in second
    assert second["seconds"] < first["seconds"]
    assert len(list((tmp_path / "inductor" / "afsearch-kernels").glob("*.bin"))) == 2


# --- Triton, under its interpreter -----------------------------------------------------------

_INTERPRETED = """
import torch
from afsearch.activations import build
from afsearch.compiler._kernels import match_kernel
from afsearch.compiler._kernels._triton import launch_backward, launch_forward

for config in CONFIGS:
    kernel, names = match_kernel(build(config).expr)
    cand = build(config)
    for dtype, rtol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        gen = torch.Generator().manual_seed(1)
        x = torch.linspace(-6, 6, 2500, dtype=dtype)  # three programs, the last one partial
        g = torch.randn(2500, generator=gen, dtype=dtype)
        a = torch.tensor([cand.params[n].value for n in names], dtype=dtype)
        got = [launch_forward(kernel, x, a), *launch_backward(kernel, x, g, a, True)]
        got.append(launch_backward(kernel, x, g, a, False)[0])
        xd, gd, ad = x.double(), g.double(), a.double()
        grad_x, grads = kernel.backward(xd, gd, ad.unbind(), True)
        want = [kernel.forward(xd, ad.unbind()), grad_x, torch.stack(grads), grad_x]
        for a_, b_ in zip(got, want):
            scale = float(b_.abs().max()) + 1.0
            torch.testing.assert_close(a_.double(), b_, rtol=rtol, atol=rtol * scale)
print("ok")
"""


@pytest.mark.slow
def test_the_triton_programs_match_the_torch_ops_under_the_interpreter() -> None:
    pytest.importorskip("triton")
    configs = [c for _, c in KERNEL_CONFIGS if c.get("normalize") != "none"]
    code = textwrap.dedent(_INTERPRETED).replace("CONFIGS", repr(configs))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, cwd=ROOT, timeout=900,
        env={**os.environ, "TRITON_INTERPRET": "1"},
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
