"""The networks: activation sites and sizes as in the papers."""

from __future__ import annotations

import torch
from torch import nn

from afsearch.tasks import MLP, ConvNet1d, ResNet20


def sites(model: nn.Module) -> int:
    return sum(isinstance(m, nn.Tanh) for m in model.modules())


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_mlp_has_one_activation_per_hidden_layer() -> None:
    model = MLP(40, 10, nn.Tanh, width=100, depth=2)
    assert sites(model) == 2
    assert model(torch.randn(5, 40)).shape == (5, 10)


def test_the_mnist1d_cnn_matches_the_paper() -> None:
    model = ConvNet1d(40, 10, nn.Tanh)
    assert sites(model) == 3
    assert n_params(model) == 5210  # ConvBase of the mnist1d notebooks
    assert model(torch.randn(5, 40)).shape == (5, 10)


def test_resnet20_matches_the_paper() -> None:
    model = ResNet20(nn.Tanh)
    assert sites(model) == 19
    assert 0.26e6 < n_params(model) < 0.28e6  # "0.27M" in He et al. 2016, table 6
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
