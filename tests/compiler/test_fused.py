"""The fused path (forward without autograd, SymPy-derived backward) for every family config:
the same values and gradients as autograd through the program, gradcheck with the parameters
trainable and frozen, and nothing kept for backward but the input and the parameters."""

from __future__ import annotations

import pytest
import torch

from afsearch.activations import build
from afsearch.compiler import CompiledActivation, measure_cost
from afsearch.compiler._cost import kept_bytes
from afsearch.compiler._fused import FusedFunction
from tests.activations.conftest import CONFIGS

# Away from 0 and the usual kinks (|x| = 1, 3), where finite differences straddle a corner.
POINTS = [-4.4, -2.6, -1.7, -0.55, 0.35, 1.45, 2.3, 3.7]


def fused_module(config: dict) -> CompiledActivation:
    return CompiledActivation(build(config), torch.float64, fused=True)


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=[n for n, _ in CONFIGS])
def test_fused_path_matches_autograd_and_passes_gradcheck(name: str, config: dict) -> None:
    cand = build(config)
    plain = CompiledActivation(cand, torch.float64)
    fused = CompiledActivation(cand, torch.float64, fused=True)
    if not fused.fused:
        pytest.skip(f"{name}: a single op or no derivative program; autograd is the path")
    x = torch.tensor(POINTS, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(fused(x), plain(x))
    gx_plain, *gp_plain = torch.autograd.grad(plain(x).sin().sum(), [x, *plain.parameters()])
    gx_fused, *gp_fused = torch.autograd.grad(fused(x).sin().sum(), [x, *fused.parameters()])
    torch.testing.assert_close(gx_fused, gx_plain)
    for a, b in zip(gp_fused, gp_plain):
        torch.testing.assert_close(a, b)

    params = [getattr(fused, f"p_{n}").detach().clone() for n in fused.names]
    for frozen in (False, True):
        ps = [p.clone().requires_grad_(not frozen) for p in params]

        def f(x: torch.Tensor, *ps: torch.Tensor) -> torch.Tensor:
            return FusedFunction.apply(fused.programs, x, *ps)

        assert torch.autograd.gradcheck(f, (x, *ps), eps=1e-6, atol=1e-5, rtol=1e-4), frozen


def test_fused_path_keeps_only_its_output_for_backward() -> None:
    config = {"family": "slaf", "basis": "chebyshev", "degree": 6}
    x = torch.randn(4096, dtype=torch.float64, requires_grad=True)
    plain = CompiledActivation(build(config), torch.float64)
    fused = CompiledActivation(build(config), torch.float64, fused=True)
    relu_bytes = kept_bytes(torch.relu, x)
    assert kept_bytes(plain, x) > 5 * relu_bytes
    # The output and the parameters (0-d tensors), nothing the size of x besides.
    assert kept_bytes(fused, x) < 1.01 * relu_bytes


def test_auto_fuses_large_cuda_inputs_only_and_cost_is_relative_to_relu() -> None:
    config = {"family": "slaf", "basis": "chebyshev", "degree": 6}
    module = CompiledActivation(build(config), fused=None)
    assert module.fused and module.fused_min_numel > 0
    small = torch.randn(64, requires_grad=True)
    assert module(small).grad_fn.name() != "FusedFunctionBackward"
    # On a CPU, autograd at every size (quicker there); CUDA is in tests/compiler/test_cuda.py.
    large = torch.randn(module.fused_min_numel, requires_grad=True)
    assert module(large).grad_fn.name() != "FusedFunctionBackward"
    forced = CompiledActivation(build(config), fused=True)
    assert forced(small).grad_fn.name() == "FusedFunctionBackward"
    one_op = CompiledActivation(build({"family": "swish"}), fused=None, fold=True)
    assert not one_op.fused
    relu = CompiledActivation(build({"family": "standard", "name": "relu"}), fold=True)
    cost = measure_cost(relu, numel=4096, repeats=5)
    assert cost.memory == pytest.approx(1.0)
    assert 0.2 < cost.time < 5.0
