"""The compiler's modules on CUDA: trial modules (plain, fused, compiled), exported modules and
the activation cost, against the CPU in float64 and under autocast. Skipped without CUDA;
benchmarks/gpu_check.sh runs them on a machine that has it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from afsearch.activations import build
from afsearch.compiler import CompiledActivation, measure_cost, render_module

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

CONFIGS = [
    {"family": "swish"},
    {"family": "swish", "trainable": True},
    {"family": "gelu"},
    {"family": "slaf", "basis": "chebyshev", "degree": 6},
    {"family": "rational"},
    {"family": "prelu", "trainable": True},
]


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_trial_modules_on_cuda_match_the_cpu(config: dict, fused: bool) -> None:
    cand = build(config)
    cpu = CompiledActivation(cand, torch.float64, fold=True, fused=fused)
    gpu = CompiledActivation(cand, torch.float64, fold=True, fused=fused).cuda()
    x = torch.linspace(-4, 4, 4097, dtype=torch.float64, requires_grad=True)
    xg = x.detach().cuda().requires_grad_()
    torch.testing.assert_close(gpu(xg).cpu(), cpu(x))
    gpu(xg).sin().sum().backward()
    cpu(x).sin().sum().backward()
    torch.testing.assert_close(xg.grad.cpu(), x.grad)
    for (n, p), (_, q) in zip(cpu.named_parameters(), gpu.named_parameters()):
        torch.testing.assert_close(q.grad.cpu(), p.grad, msg=n)


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS[:4], ids=lambda c: "-".join(map(str, c.values())))
def test_compiled_and_autocast_trial_modules_on_cuda(config: dict) -> None:
    module = CompiledActivation(build(config), fold=True, fused=None).cuda()
    x = torch.randn(1 << 18, device="cuda", requires_grad=True)
    want = module(x).detach()
    module.use_compiled()
    got = module(x)
    got.sum().backward()
    torch.testing.assert_close(got.detach(), want, rtol=1e-4, atol=1e-5)
    module.use_compiled(False)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        y = module(x.to(torch.bfloat16))
    assert torch.isfinite(y.float()).all()


def test_exported_module_on_cuda(tmp_path: Path) -> None:
    path = tmp_path / "SwishCuda.py"
    path.write_text(render_module(build({"family": "swish", "trainable": True}), "SwishCuda"))
    spec = importlib.util.spec_from_file_location("SwishCuda", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    act = mod.SwishCuda().cuda()
    x = torch.randn(1000, device="cuda", requires_grad=True)
    act(x).sum().backward()
    assert act.p_beta.grad is not None and x.grad is not None


def test_activation_cost_on_cuda() -> None:
    relu = CompiledActivation(build({"family": "standard", "name": "relu"}), fold=True)
    cost = measure_cost(relu, "cuda", numel=1 << 20, repeats=5)
    assert cost.memory == pytest.approx(1.0)
    assert 0.1 < cost.time < 10.0


def test_auto_fuses_large_cuda_inputs() -> None:
    module = CompiledActivation(build(CONFIGS[3]), fused=None).cuda()
    large = torch.randn(module.fused_min_numel, device="cuda", requires_grad=True)
    assert module(large).grad_fn.name() == "FusedFunctionBackward"
    small = torch.randn(64, device="cuda", requires_grad=True)
    assert module(small).grad_fn.name() != "FusedFunctionBackward"


KERNEL_CONFIGS = [
    {"family": "slaf", "basis": "chebyshev", "degree": 6, "relu_mix": 0.5},
    {"family": "slaf", "basis": "legendre", "degree": 5, "normalize": "tanh"},
    {"family": "slaf", "basis": "fourier", "degree": 4},
    {"family": "slaf", "basis": "rbf", "degree": 6},
    {"family": "rational"},
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("config", KERNEL_CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_triton_kernels_on_cuda_match_the_cpu(config: dict, dtype: torch.dtype) -> None:
    import warnings

    from afsearch.compiler._kernels import _triton

    cand = build(config)
    cpu = CompiledActivation(cand, torch.float64, fold=True, kernel=True)
    gpu = CompiledActivation(cand, dtype, fold=True, kernel=True).cuda()
    gpu.use_compiled()
    x = torch.linspace(-6, 6, 3 * _triton.BLOCK + 5, dtype=torch.float64, requires_grad=True)
    xg = x.detach().to("cuda", dtype).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Triton program that fails its own check warns
        yg = gpu(xg)
        yg.sin().sum().backward()
    assert _triton.forward(gpu.kernel, dtype) is not None
    tol = {} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-4}
    torch.testing.assert_close(yg.detach().cpu().double(), cpu(x).detach(), **tol)
    cpu(x).sin().sum().backward()
    torch.testing.assert_close(xg.grad.cpu().double(), x.grad, **tol)
    torch.testing.assert_close(gpu.coefficients.grad.cpu().double(), cpu.coefficients.grad, **tol)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        y16 = gpu(xg.to(torch.bfloat16))
    assert y16.dtype == torch.bfloat16 and torch.isfinite(y16.float()).all()
