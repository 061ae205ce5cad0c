"""inr-image: the PSNR, the pixel split, SIREN's initialisation and frequency, bad options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from afsearch.exceptions import AfsearchError
from afsearch.tasks import INRImage, get_task
from afsearch.tasks._inr_image import IMAGES, load_image, psnr, split_pixels
from afsearch.tasks._networks import CoordinateMLP


class Sin(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


def small(**options: object) -> INRImage:
    base = {"size": 16, "width": 16, "depth": 2, "steps_per_epoch": 5}
    return INRImage(INRImage.make_settings(epochs=2, options={**base, **options}))


def test_psnr_of_known_errors() -> None:
    assert psnr(1.0) == 0.0
    assert psnr(0.01) == pytest.approx(20.0)
    assert psnr(1e-4) == pytest.approx(40.0)
    assert math.isfinite(psnr(0.0))


def test_val_psnr_is_the_psnr_of_the_model_on_the_validation_pixels() -> None:
    task = small()
    last = list(task.fit(nn.Tanh, seed=0))[-1]
    data = task.data(0)
    assert task.last_model is not None
    with torch.no_grad():
        mse = float(((task.last_model(data.x_val) - data.y_val) ** 2).mean())
    assert last.metrics["val_psnr"] == pytest.approx(-10 * math.log10(mse), rel=1e-4)


@pytest.mark.parametrize("size", [8, 9, 16])
def test_held_out_pixels_are_disjoint_from_the_training_grid(size: int) -> None:
    train, val, test = split_pixels(size, seed=3)
    sets = [set(train.tolist()), set(val.tolist()), set(test.tolist())]
    assert not sets[0] & sets[1] and not sets[0] & sets[2] and not sets[1] & sets[2]
    assert set().union(*sets) == set(range(size * size))
    rows, cols = np.divmod(np.array(sorted(sets[0])), size)
    assert (rows % 2 == 0).all() and (cols % 2 == 0).all()
    assert len(sets[0]) == ((size + 1) // 2) ** 2


def test_data_are_the_image_at_the_coordinates() -> None:
    task = small(image="astronaut")
    data = task.data(0)
    image = load_image("astronaut", 16)
    assert image.shape == (16, 16, 3) and image.min() >= 0 and image.max() <= 1
    # Coordinate (-1, -1) is pixel (0, 0), which is on the training grid.
    first = int(torch.nonzero((data.x_train == -1).all(dim=1))[0, 0])
    assert torch.allclose(data.y_train[first], torch.from_numpy(image[0, 0].copy()))
    assert data.y_val.shape[1] == 3


def test_siren_initialisation_and_frequency() -> None:
    torch.manual_seed(0)
    model = CoordinateMLP(1, Sin, width=64, depth=3, omega0=30.0, siren_init=True)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears[0].weight.abs().max() <= 1 / 2
    for linear in linears[1:]:
        assert linear.weight.abs().max() <= math.sqrt(6 / 64) / 30
    x = torch.tensor([[0.25, -0.5]])
    first = linears[0]
    expected = torch.sin(30 * (x @ first.weight.T + first.bias))
    assert torch.allclose(model.net[1](model.net[0](x)), expected)


def test_omega0_one_is_a_plain_mlp() -> None:
    model = CoordinateMLP(1, nn.ReLU, width=8, depth=2, omega0=1.0, siren_init=False)
    assert all(type(m) is nn.Linear for m in model.net if isinstance(m, nn.Linear))


def test_siren_beats_relu_on_held_out_pixels() -> None:
    # The point of the task: the activation (and SIREN's setting) changes the score by dB.
    settings = {"size": 32, "width": 64, "depth": 3, "steps_per_epoch": 100}
    relu = small(**settings)
    siren = small(**settings, omega0=10.0, init="siren")
    relu_psnr = list(relu.fit(nn.ReLU, seed=0))[-1].metrics["val_psnr"]
    siren_psnr = list(siren.fit(Sin, seed=0))[-1].metrics["val_psnr"]
    assert siren_psnr > relu_psnr + 1.0


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"image": "lena"}, ["'image'", "'lena'", "camera", "astronaut"]),
        ({"init": "xavier"}, ["'init'", "'xavier'", "siren"]),
        ({"omega0": 0.0}, ["'omega0'", "above 0"]),
        ({"size": 2}, ["'size'", "at least 4"]),
        ({"width": 0}, ["'width'"]),
    ],
)
def test_bad_options_get_a_sentence(options: dict[str, object], words: list[str]) -> None:
    with pytest.raises(AfsearchError) as info:
        get_task("inr-image", INRImage.make_settings(options=options))
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.slow
def test_every_listed_image_ships_with_scikit_image() -> None:
    for name in IMAGES:
        assert load_image(name, 8).shape[:2] == (8, 8), name


class Counting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return torch.tanh(x)


def test_an_epoch_takes_steps_per_epoch_full_batch_steps() -> None:
    made: list[Counting] = []

    def make() -> nn.Module:
        made.append(Counting())
        return made[-1]

    task = INRImage(INRImage.make_settings(epochs=1, options={"size": 16, "steps_per_epoch": 7}))
    list(task.fit(make, seed=0))
    # 7 training steps over all 64 training pixels, then one pass each over validation and test.
    assert [m.calls for m in made] == [9] * task.options["depth"]
