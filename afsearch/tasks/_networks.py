"""Networks with the activation as a parameter: every site calls ``make_activation()`` once.

MLP, the 1-D ConvNet of MNIST-1D, ResNet-20, and the coordinate MLP of ``inr-image`` (with
SIREN's frequency and initialisation). Task modules import them where they build a model, so
defining a task loads no torch.

So a candidate with trainable coefficients gets its own coefficients at every site, as a fresh
``nn.ReLU()`` would. Each site also tells the activation the number of channels of its input,
dim 1 (the width after a linear layer, the channels after a convolution), through
:func:`~afsearch.tasks._sites.site_activation`: a per-channel candidate holds one value per
channel there, and a ``make_activation`` without a ``channels`` argument is called bare.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from afsearch.tasks._sites import site_activation

MakeActivation = Callable[..., nn.Module]


class MLP(nn.Module):
    """``in_dim -> width x depth -> out_dim``, the activation after each hidden layer."""

    def __init__(
        self, in_dim: int, out_dim: int, make_activation: MakeActivation, width: int, depth: int
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        fan_in = in_dim
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), site_activation(make_activation, width)]
            fan_in = width
        layers.append(nn.Linear(fan_in, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _conv_length(length: int, kernel: int, stride: int, padding: int) -> int:
    return (length + 2 * padding - kernel) // stride + 1


class ConvNet1d(nn.Module):
    """The MNIST-1D CNN of Greydanus 2020 (``ConvBase`` in the mnist1d notebooks).

    Three 1-D convolutions with ``channels`` channels, stride 2 and padding 1 (kernel 5, then
    3 and 3), the activation after each, then a linear classifier on the flattened features.
    """

    def __init__(
        self,
        length: int,
        out_dim: int,
        make_activation: MakeActivation,
        channels: int = 25,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 1
        for kernel in (5, 3, 3):
            layers += [
                nn.Conv1d(in_channels, channels, kernel, stride=2, padding=1),
                site_activation(make_activation, channels),
            ]
            in_channels = channels
            length = _conv_length(length, kernel, stride=2, padding=1)
        self.features = nn.Sequential(*layers)
        self.linear = nn.Linear(channels * length, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x.view(x.shape[0], 1, x.shape[-1]))
        return self.linear(h.flatten(1))


class _BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm; the activation after the first and after the sum.

    The shortcut is option A of He et al. 2016: parameter-free, subsampling by 2 and padding the
    new channels with zeros when the shape changes.
    """

    def __init__(
        self, in_channels: int, channels: int, stride: int, make_activation: MakeActivation
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act1 = site_activation(make_activation, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.act2 = site_activation(make_activation, channels)
        self.stride = stride
        self.extra_channels = channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x
        if self.stride != 1 or self.extra_channels:
            shortcut = x[:, :, :: self.stride, :: self.stride]
            half = self.extra_channels // 2
            shortcut = F.pad(shortcut, (0, 0, 0, 0, half, self.extra_channels - half))
        return self.act2(out + shortcut)


class ResNet20(nn.Module):
    """ResNet-20 for CIFAR (He et al. 2016): 3 stages of 3 basic blocks, 16/32/64 channels.

    The activation stands wherever the paper has a ReLU (19 sites); shortcuts are option A.
    """

    def __init__(
        self, make_activation: MakeActivation, num_classes: int = 10, blocks: int = 3
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.act = site_activation(make_activation, 16)
        stages: list[nn.Module] = []
        in_channels = 16
        for stage, channels in enumerate((16, 32, 64)):
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                stages.append(_BasicBlock(in_channels, channels, stride, make_activation))
                in_channels = channels
        self.stages = nn.Sequential(*stages)
        self.linear = nn.Linear(64, num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stages(self.act(self.bn(self.conv(x))))
        return self.linear(out.mean(dim=(2, 3)))


class ScaledLinear(nn.Linear):
    """A linear layer whose output is multiplied by ``omega0`` (SIREN's frequency)."""

    def __init__(self, in_features: int, out_features: int, omega0: float) -> None:
        super().__init__(in_features, out_features)
        self.omega0 = omega0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.omega0 * super().forward(x)


class CoordinateMLP(nn.Module):
    """``2 -> width x depth -> channels``: coordinates in [-1, 1]^2 to colour.

    Every hidden layer's pre-activation is multiplied by ``omega0`` before the activation;
    ``siren_init`` draws the weights as SIREN does.
    """

    def __init__(
        self,
        out_dim: int,
        make_activation: MakeActivation,
        width: int,
        depth: int,
        omega0: float,
        siren_init: bool,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        fan_in = 2
        linears: list[nn.Linear] = []
        for _ in range(depth):
            linear = (
                nn.Linear(fan_in, width) if omega0 == 1 else ScaledLinear(fan_in, width, omega0)
            )
            layers += [linear, site_activation(make_activation, width)]
            linears.append(linear)
            fan_in = width
        last = nn.Linear(fan_in, out_dim)
        linears.append(last)
        layers.append(last)
        self.net = nn.Sequential(*layers)
        if siren_init:
            with torch.no_grad():
                for i, linear in enumerate(linears):
                    n = linear.in_features
                    bound = 1.0 / n if i == 0 else math.sqrt(6.0 / n) / omega0
                    linear.weight.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
