"""replace_activations: every matching site of a built network gets a fresh module."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

import afsearch
from afsearch.activations import build, replace_activations
from afsearch.compiler import CompiledActivation, render_module
from afsearch.exceptions import AfsearchError


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.act = nn.GELU()
        self.inner = nn.Sequential(nn.Linear(6, 6), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(self.act(self.fc(x)))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([Block(), Block()])
        self.heads = nn.ModuleDict({"a": nn.GELU(), "b": nn.Identity()})
        self.out = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.out(self.heads["b"](self.heads["a"](x)))


def test_the_top_level_name_is_the_activations_one() -> None:
    assert afsearch.replace_activations is replace_activations
    assert "replace_activations" in dir(afsearch)


def test_every_gelu_of_a_sequential_is_swapped_in_order() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 2))
    old = [model[1], model[3]]
    replaced = replace_activations(model, nn.GELU, nn.SiLU)
    assert [n for n, _ in replaced] == ["1", "3"]
    assert [m for _, m in replaced] == old  # the modules taken out
    assert isinstance(model[1], nn.SiLU) and isinstance(model[3], nn.SiLU)
    assert model[1] is not model[3]  # a fresh module per site
    x = torch.randn(5, 4)
    expected = model[4](nn.functional.silu(model[2](nn.functional.silu(model[0](x)))))
    torch.testing.assert_close(model(x), expected)


def test_nested_modules_module_lists_and_dicts() -> None:
    model = Net()
    replaced = replace_activations(model, (nn.GELU, nn.Tanh), nn.ReLU)
    assert [n for n, _ in replaced] == [
        "blocks.0.act",
        "blocks.0.inner.1",
        "blocks.1.act",
        "blocks.1.inner.1",
        "heads.a",
    ]
    assert not any(isinstance(m, (nn.GELU, nn.Tanh)) for m in model.modules())
    assert isinstance(model.heads["a"], nn.ReLU) and isinstance(model.blocks[1].inner[1], nn.ReLU)
    assert model(torch.randn(3, 6)).shape == (3, 2)


def test_a_predicate_chooses_the_sites() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.1), nn.LeakyReLU(0.3), nn.ELU())
    replaced = replace_activations(
        model, lambda m: isinstance(m, nn.LeakyReLU) and m.negative_slope > 0.2, nn.SiLU
    )
    assert [n for n, _ in replaced] == ["2"]
    assert [type(m) for m in model] == [nn.Linear, nn.LeakyReLU, nn.SiLU, nn.ELU]


def test_what_a_replaced_module_contained_is_not_visited() -> None:
    inner = nn.Sequential(nn.GELU(), nn.GELU())
    model = nn.ModuleDict({"fc": nn.Linear(2, 2), "inner": inner})
    replaced = replace_activations(
        model, lambda m: isinstance(m, (nn.Sequential, nn.GELU)), nn.ReLU
    )
    assert [n for n, _ in replaced] == ["inner"] and replaced[0][1] is inner
    assert isinstance(model["inner"], nn.ReLU)


def test_a_module_held_at_two_sites_is_replaced_at_each() -> None:
    shared = nn.GELU()
    model = nn.Sequential(nn.Linear(2, 2), shared, nn.Linear(2, 2), shared)
    replaced = replace_activations(model, nn.GELU, nn.SiLU)
    assert [n for n, _ in replaced] == ["1", "3"]
    assert isinstance(model[1], nn.SiLU) and isinstance(model[3], nn.SiLU)
    assert model[1] is not model[3]


def test_nothing_matched_gives_an_empty_list() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    assert replace_activations(model, nn.GELU, nn.SiLU) == []
    assert isinstance(model[1], nn.ReLU)


@pytest.mark.parametrize("bad", ["gelu", nn.GELU(), (), (nn.GELU, "relu"), int, 3])
def test_an_old_that_is_not_module_types_or_a_test_is_refused(bad) -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.GELU())
    with pytest.raises(AfsearchError, match=r"^old must be an nn\.Module subclass .*got "):
        replace_activations(model, bad, nn.SiLU)
    assert isinstance(model[1], nn.GELU)


def test_a_new_that_does_not_make_modules_is_refused() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.GELU())
    with pytest.raises(AfsearchError, match=r"nn\.SiLU, not nn\.SiLU\(\)"):
        replace_activations(model, nn.GELU, nn.SiLU())
    with pytest.raises(AfsearchError, match="new must make an nn.Module; called for '1'"):
        replace_activations(model, nn.GELU, lambda: "silu")


def test_the_model_itself_is_not_replaced() -> None:
    model = nn.GELU()
    with pytest.raises(AfsearchError, match=r"model itself \(GELU\) matches old.*wrap it"):
        replace_activations(model, nn.GELU, nn.SiLU)
    wrapped = nn.Sequential(model)
    assert [n for n, _ in replace_activations(wrapped, nn.GELU, nn.SiLU)] == ["0"]


def test_compiled_activations_from_a_candidate() -> None:
    candidate = build({"family": "swish", "beta": 1.5, "trainable": True})
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 1))
    replace_activations(model, nn.GELU, lambda: CompiledActivation(candidate))
    assert isinstance(model[1], CompiledActivation)
    assert "1.p_beta" in dict(model.named_parameters())


def test_an_exported_modules_class_replaces_gelu(tmp_path: Path) -> None:
    candidate = build({"family": "swish", "beta": 1.5, "trainable": True})
    path = tmp_path / "SwishBeta.py"
    path.write_text(render_module(candidate, "SwishBeta"))
    spec = importlib.util.spec_from_file_location("SwishBeta", path)
    assert spec is not None and spec.loader is not None
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    cls = exported.SwishBeta

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 4), nn.GELU())
    names = [n for n, _ in replace_activations(model, nn.GELU, cls)]
    assert names == ["1", "3"] and isinstance(model[1], cls) and model[1] is not model[3]
    x = torch.randn(2, 3)
    h = model[0](x)
    h = model[2](h * torch.sigmoid(1.5 * h))
    torch.testing.assert_close(model(x), h * torch.sigmoid(1.5 * h))
    # timm's way of building it works too.
    replace_activations(model, cls, lambda: cls(inplace=True))
    model(x).sum().backward()
    assert model[1].p_beta.grad is not None
