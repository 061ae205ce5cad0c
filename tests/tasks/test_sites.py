"""Activation sites: networks tell each site its channels; per_site counts the sites."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from afsearch.activations import build
from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError
from afsearch.tasks import BaseTask, TaskData, get_task, site_activation
from afsearch.tasks._networks import MLP, ConvNet1d, ResNet20
from afsearch.tasks._sites import count_sites, takes_channels


def test_channels_go_only_to_a_factory_that_takes_them():
    assert not takes_channels(nn.ReLU)  # its first argument is inplace
    assert not takes_channels(lambda: nn.ReLU())
    assert takes_channels(lambda channels=None: nn.ReLU())
    assert not takes_channels(nn.Tanh)  # nn.Module's **kwargs refuses channels
    assert not takes_channels(lambda **kw: nn.ReLU())
    relu = site_activation(nn.ReLU, 16)
    assert isinstance(relu, nn.ReLU) and not relu.inplace
    seen: list[int | None] = []
    site_activation(lambda channels=None: seen.append(channels) or nn.Identity(), 7)
    assert seen == [7]


def _channels(network_factory) -> list[int | None]:
    seen: list[int | None] = []

    def make(channels: int | None = None) -> nn.Module:
        seen.append(channels)
        return nn.Identity()

    network_factory(make)
    return seen


def test_the_built_in_networks_name_each_sites_channels():
    assert _channels(lambda m: MLP(4, 2, m, width=8, depth=3)) == [8, 8, 8]
    assert _channels(lambda m: ConvNet1d(40, 10, m, channels=5)) == [5, 5, 5]
    resnet = _channels(lambda m: ResNet20(m))
    assert len(resnet) == 19 and resnet[0] == 16 and resnet[-1] == 64


def test_the_built_in_networks_still_take_nn_relu():
    net = MLP(4, 2, nn.ReLU, width=8, depth=2)
    assert [type(m) for m in net.net][1] is nn.ReLU
    assert not any(getattr(m, "inplace", False) for m in net.modules())


@pytest.mark.parametrize(
    ("task", "sites"),
    [("digits-mlp", [16, 16]), ("mnist1d-cnn", None), ("inr-image", None), ("pinn-poisson", None)],
)
def test_count_sites_of_built_in_tasks(task, sites):
    t = get_task(task)
    counted = count_sites(type(t)(type(t).make_settings(options=type(t).smoke_options)))
    assert counted and all(isinstance(c, int) and c > 0 for c in counted)
    if sites is not None:
        assert counted == sites


class _Broken(BaseTask):
    name = "broken"
    description = "a network that cannot be built"
    metric = "val_loss"
    mode = "min"

    def build_data(self, seed: int) -> TaskData:
        raise NotImplementedError

    def build_model(self, make_activation) -> nn.Module:
        raise RuntimeError("needs a GPU")


class _NoSites(_Broken):
    def build_model(self, make_activation) -> nn.Module:
        return nn.Linear(2, 2)


def test_count_sites_of_a_network_that_cannot_be_built_gets_a_sentence():
    with pytest.raises(AfsearchError, match=r"task 'broken' could not be built.*needs a GPU"):
        count_sites(_Broken())
    with pytest.raises(AfsearchError, match="never calls make_activation"):
        count_sites(_NoSites())


def test_a_per_channel_activation_trains_in_each_built_in_network():
    candidate = build({"family": "swish", "trainable": True, "per_channel": True})
    modules: list[CompiledActivation] = []

    def make(channels: int | None = None) -> nn.Module:
        modules.append(CompiledActivation(candidate, channels=channels))
        return modules[-1]

    cls = type(get_task("mnist1d-cnn"))
    task = cls(cls.make_settings(epochs=1, options=cls.smoke_options))
    result = next(task.fit(make, seed=0))
    assert not result.diverged
    assert [m.p_beta.shape for m in modules] == [(task.options["channels"],)] * 3
    # Training moved the channels apart.
    assert all(len(set(m.channel_values()["beta"])) > 1 for m in modules)
    x = torch.randn(2, 4)
    net = MLP(4, 2, make, width=6, depth=1)
    assert net(x).shape == (2, 2) and modules[-1].p_beta.shape == (6,)


class _TimmStyle(_Broken):
    """A network built as timm builds one: ``act_layer(inplace=True)``."""

    def build_model(self, make_activation) -> nn.Module:
        return nn.Sequential(nn.Linear(2, 5), make_activation(inplace=True), nn.Linear(5, 2))


def test_count_sites_of_a_network_that_passes_inplace():
    assert count_sites(_TimmStyle()) == [None]
