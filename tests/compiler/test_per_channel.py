"""Per-channel parameters: one value per channel of dim 1, broadcast, trained and identified."""

from __future__ import annotations

import pytest
import torch

from afsearch.activations import build
from afsearch.compiler import CompiledActivation, activation_id
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate

CONFIGS = [
    {"family": "swish", "beta": 1.0, "trainable": True},
    {"family": "prelu", "a": 0.25, "trainable": True},
    {"family": "rational", "trainable": True},
    {"family": "slaf", "degree": 3},
    {"family": "elu", "alpha": 1.0, "trainable": True},
]
SHAPES = [(5, 4), (3, 4, 6), (2, 4, 3, 3)]  # after a linear layer, a Conv1d, a Conv2d


def _per_channel(config: dict) -> Candidate:
    return build({**config, "per_channel": True})


def _spread(module: CompiledActivation, seed: int = 0) -> None:
    """Give every channel its own value, so a broadcast over the wrong dim shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name in module.names:
            p = getattr(module, f"p_{name}")
            if p.dim():
                p.add_(0.2 * torch.rand(p.shape, generator=g, dtype=p.dtype))


def _reference(candidate: Candidate, module: CompiledActivation, x: torch.Tensor) -> torch.Tensor:
    """Channel c computed by a scalar module holding channel c's values."""
    vectors = module.channel_values()
    out = torch.empty_like(x)
    for c in range(x.shape[1]):
        values = {n: vectors[n][c] for n in vectors}
        plain = Candidate(candidate.expr, candidate.with_values(values).params, candidate.family)
        scalar = CompiledActivation(plain, dtype=x.dtype)
        out[:, c] = scalar(x[:, c])
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c["family"])
@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_values_per_channel_broadcast_over_dim_1(config, fused, shape):
    candidate = _per_channel(config)
    module = CompiledActivation(candidate, dtype=torch.float64, fused=fused, channels=4)
    for name in candidate.trainable:
        assert getattr(module, f"p_{name}").shape == (4,)
    _spread(module)
    x = torch.randn(*shape, dtype=torch.float64)
    y = module(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, _reference(candidate, module, x))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c["family"])
@pytest.mark.parametrize("fused", [False, True])
def test_gradcheck_per_channel(config, fused):
    candidate = _per_channel(config)
    module = CompiledActivation(candidate, dtype=torch.float64, fused=fused, channels=3)
    _spread(module, 1)
    names = candidate.trainable
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    # Away from kinks (PReLU at 0), where finite differences are meaningless.
    x.data = x.data.sign() * (x.data.abs() + 0.1)
    params = [getattr(module, f"p_{n}").detach().clone().requires_grad_() for n in names]

    def f(x: torch.Tensor, *ps: torch.Tensor) -> torch.Tensor:
        for n, p in zip(names, ps):
            delattr(module, f"p_{n}")
            setattr(module, f"p_{n}", p)
        return module(x)

    assert torch.autograd.gradcheck(f, (x, *params))


def test_a_gradient_step_moves_each_channel_by_its_own_gradient():
    module = CompiledActivation(_per_channel(CONFIGS[0]), channels=3)
    x = torch.zeros(8, 3)
    x[:, 0] = 1.0  # only channel 0 sees a non-zero input
    module(x).sum().backward()
    grad = module.p_beta.grad
    assert grad is not None and grad[0] != 0 and grad[1] == 0 and grad[2] == 0


def test_without_channels_a_per_channel_candidate_holds_one_value():
    module = CompiledActivation(_per_channel(CONFIGS[0]))
    assert module.p_beta.shape == () and module.channel_values() == {}
    assert module(torch.randn(3)).shape == (3,)


def test_fixed_parameters_stay_scalars():
    fixed = build({"family": "selu", "trainable": ["alpha"], "per_channel": True})
    module = CompiledActivation(fixed, channels=5)
    assert module.p_alpha.shape == (5,) and module.p_scale.shape == ()


def test_mean_and_vectors_of_learned_values():
    module = CompiledActivation(_per_channel(CONFIGS[0]), channels=3)
    with torch.no_grad():
        module.p_beta.copy_(torch.tensor([1.0, 2.0, 4.0]))
    assert module.channel_values() == {"beta": [1.0, 2.0, 4.0]}
    assert module.param_values()["beta"] == pytest.approx(7 / 3)
    back = module.to_candidate()
    assert back.per_channel and back.params["beta"].value == pytest.approx(7 / 3)


def test_an_input_without_the_channels_gets_a_sentence():
    module = CompiledActivation(_per_channel(CONFIGS[0]), channels=3)
    with pytest.raises(AfsearchError, match=r"\(N, 3, \.\.\.\), got \(2, 5\)"):
        module(torch.randn(2, 5))
    with pytest.raises(AfsearchError, match="positive integer, got 0"):
        CompiledActivation(_per_channel(CONFIGS[0]), channels=0)


def test_per_channel_is_part_of_identity_and_of_the_stored_form():
    shared = build(CONFIGS[0])
    per_channel = _per_channel(CONFIGS[0])
    assert activation_id(shared) != activation_id(per_channel)
    assert activation_id(per_channel) == activation_id(_per_channel(CONFIGS[0]))
    data = per_channel.to_dict()
    assert data["per_channel"] is True and "per_channel" not in shared.to_dict()
    back = Candidate.from_dict(data)
    assert back.per_channel and activation_id(back) == activation_id(per_channel)
