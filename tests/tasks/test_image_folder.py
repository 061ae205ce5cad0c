"""``image-folder``: a tiny folder of images written here, timm's smallest models, the candidate
as their ``act_layer``."""

from __future__ import annotations

import importlib.util
import io
import itertools
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torch import nn
from typer.testing import CliRunner

from afsearch.activations import build
from afsearch.cli import app
from afsearch.compiler import CompiledActivation, render_module
from afsearch.exceptions import AfsearchError
from afsearch.tasks import ActivationFactory, ImageFolderTask, TaskDatasets
from tests.tasks.conftest import write_image_folder

timm = pytest.importorskip("timm")
pytest.importorskip("torchvision")

#: The activations timm's models build by default: none may be left beside the candidate.
DEFAULTS = (nn.ReLU, nn.GELU, nn.SiLU, nn.ReLU6, nn.Hardswish)


def make(data_dir: Path | str | None, /, **options: Any) -> ImageFolderTask:
    epochs = options.pop("epochs", 1)
    options = {"model": "test_resnet", "image_size": 16, "data_dir": data_dir, **options}
    if isinstance(options["data_dir"], Path):
        options["data_dir"] = str(options["data_dir"])
    return ImageFolderTask(ImageFolderTask.make_settings(epochs=epochs, options=options))


def without_time(results: list[Any]) -> list[dict[str, float]]:
    return [{k: v for k, v in r.metrics.items() if k != "epoch_seconds"} for r in results]


@pytest.mark.parametrize("model", ["test_resnet", "test_efficientnet", "test_vit"])
def test_a_timm_model_trains_with_the_candidate_at_every_activation(
    fake_image_dir: Path, model: str
) -> None:
    factory = ActivationFactory(build({"family": "swish", "beta": 1.5, "trainable": True}))
    task = make(fake_image_dir, model=model)
    results = list(task.fit(factory.maker(), seed=0))
    assert len(results) == 1 and not results[0].diverged
    for key in ("val_accuracy", "val_loss", "train_loss", "test_accuracy", "test_loss"):
        assert math.isfinite(results[0].metrics[key]), key
    model_ = task.last_model
    assert model_ is not None
    inside = [m for m in model_.modules() if isinstance(m, CompiledActivation)]
    (made,) = factory.runs
    assert len(inside) == len(made) > 0
    assert {id(m) for m in inside} == {id(m) for m in made}
    assert not any(isinstance(m, DEFAULTS) for m in model_.modules())
    # The candidate's trainable beta trained.
    assert any(float(p.detach()) != 1.5 for m in inside for p in m.parameters())
    assert model_(torch.zeros(2, 3, 16, 16)).shape == (2, 3)  # one output per class folder


def test_a_plain_torch_activation_class_works_too(fake_image_dir: Path) -> None:
    task = make(fake_image_dir)
    list(task.fit(nn.Tanh, seed=0))
    assert task.last_model is not None
    tanhs = sum(isinstance(m, nn.Tanh) for m in task.last_model.modules())
    relus = sum(isinstance(m, nn.ReLU) for m in timm.create_model("test_resnet").modules())
    assert tanhs == relus > 0


def test_an_exported_module_class_is_a_timm_act_layer(tmp_path: Path) -> None:
    source = render_module(build({"family": "swish", "beta": 1.3, "trainable": True}), "Swish13")
    path = tmp_path / "swish13.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("swish13", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = timm.create_model("test_resnet", num_classes=3, act_layer=module.Swish13)
    assert sum(isinstance(m, module.Swish13) for m in model.modules()) == 12
    assert not any(isinstance(m, DEFAULTS) for m in model.modules())
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 3)


def test_one_folder_is_split_per_class_with_test_images_fixed_across_seeds(
    tmp_path: Path,
) -> None:
    root = write_image_folder(tmp_path, classes=3, per_class=10)
    task = make(root, val_fraction=0.2, test_fraction=0.3)

    def splits(seed: int) -> dict[str, list[int]]:
        data = task.data(seed)
        assert isinstance(data, TaskDatasets)
        return {s: getattr(data, s).indices for s in ("train", "val", "test")}

    first, second = splits(0), splits(1)
    assert first["test"] == second["test"]
    assert first["val"] != second["val"]
    for parts in (first, second):
        assert sorted(itertools.chain(*parts.values())) == list(range(30))  # disjoint, every image
        assert [len(parts[s]) for s in ("train", "val", "test")] == [15, 6, 9]
        folder = task.data(0).test.folder  # type: ignore[union-attr]
        for split in ("val", "test"):  # every class in each, in its share
            labels = [folder.targets[i] for i in parts[split]]
            assert sorted(set(labels)) == [0, 1, 2]
            assert len(set(labels.count(k) for k in range(3))) == 1
    assert make(root, val_fraction=0.2, test_fraction=0.3).data(0).test.indices == first["test"]  # type: ignore[union-attr]


def test_train_val_and_test_folders_are_read_as_they_are(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path, classes=2, per_class=4, splits=True)
    task = make(root)
    data = task.data(0)
    assert isinstance(data, TaskDatasets)
    assert [len(getattr(data, s)) for s in ("train", "val", "test")] == [8, 8, 8]
    assert [Path(p).parts[-3] for p, _ in data.test.samples] == ["test"] * 8  # type: ignore[union-attr]
    results = list(task.fit(nn.ReLU, seed=0))
    assert math.isfinite(results[-1].metrics["test_accuracy"])


def test_images_are_resized_cropped_and_normalised(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path, size=24)
    data = make(root, image_size=16).data(0)
    x, label = data.val[0]  # type: ignore[index]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32 and label in (0, 1, 2)
    assert x.min() < -1.0 and x.max() > 1.0  # ImageNet's mean and std, not [0, 1]


def test_augment_draws_crops_and_flips_for_training_only(fake_image_dir: Path) -> None:
    plain = make(fake_image_dir).data(0)
    augmented = make(fake_image_dir, augment=True).data(0)
    torch.manual_seed(0)
    assert torch.equal(plain.train[0][0], plain.train[0][0])  # type: ignore[index]
    draws = [augmented.train[0][0] for _ in range(4)]  # type: ignore[index]
    assert any(not torch.equal(draws[0], d) for d in draws[1:])
    assert torch.equal(augmented.val[0][0], plain.val[0][0])  # type: ignore[index]
    assert torch.equal(augmented.test[0][0], plain.test[0][0])  # type: ignore[index]


def test_an_augmented_fit_is_reproducible_and_resumes(fake_image_dir: Path) -> None:
    def fit(**kwargs: Any) -> list[dict[str, float]]:
        task = make(fake_image_dir, augment=True, epochs=3)
        return without_time(list(task.fit(nn.SiLU, seed=1, **kwargs)))

    whole = fit()
    assert fit() == whole
    run = make(fake_image_dir, augment=True, epochs=3).fit(nn.SiLU, seed=1)
    state = next(run).state
    assert state is not None
    buffer = io.BytesIO()
    torch.save(state(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    run.close()
    assert fit(resume=saved) == whole[1:]


def test_workers_read_the_images_reproducibly(fake_image_dir: Path) -> None:
    # Each worker draws its crops from a seed the shuffling generator gives it.
    def fit() -> list[dict[str, float]]:
        task = make(fake_image_dir, augment=True, num_workers=2)
        return without_time(list(task.fit(nn.ReLU, seed=2)))

    first = fit()
    assert all(math.isfinite(v) for v in first[0].values())
    assert fit() == first


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (
            {"data_dir": "/nonexistent/images"},
            ["'data_dir'", "'/nonexistent/images'", "not a folder"],
        ),
        ({"data_dir": 3}, ["'data_dir'", "class folders", "3"]),
        ({"image_size": 4}, ["'image_size'", "at least 8", "4"]),
        ({"val_fraction": 0.0}, ["'val_fraction'", "between 0 and 1", "0.0"]),
        ({"test_fraction": 1.5}, ["'test_fraction'", "1.5"]),
        ({"val_fraction": "0.1"}, ["'val_fraction'", "a number", "'0.1'"]),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, ["add up", "less than 1"]),
        ({"model": ""}, ["'model'", "timm model"]),
        ({"augment": "yes"}, ["'augment'", "true or false"]),
    ],
)
def test_bad_options_are_refused_at_once(
    fake_image_dir: Path, options: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(AfsearchError) as info:
        make(fake_image_dir, **options)
    for word in words:
        assert word in str(info.value)


def test_folders_without_class_folders_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AfsearchError, match="has 0 class folders"):
        make(empty)
    write_image_folder(tmp_path / "one", classes=1)
    with pytest.raises(
        AfsearchError, match="has 1 class folders, and a classifier needs at least 2"
    ):
        make(tmp_path / "one")
    halves = write_image_folder(tmp_path / "halves", classes=2, splits=True)
    (halves / "test").rename(halves / "held-out")
    with pytest.raises(AfsearchError, match="has train, val but no test folder"):
        make(halves)
    odd = write_image_folder(tmp_path / "odd", classes=2, splits=True)
    (odd / "val" / "class_1").rename(odd / "val" / "class_9")
    with pytest.raises(AfsearchError, match=r"class folders of .*val.* \(class_0, class_9\)"):
        make(odd)


def test_a_class_folder_without_images_is_a_sentence(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path)
    (root / "class_3").mkdir()
    with pytest.raises(AfsearchError, match="class folder without images"):
        make(root).data(0)


def test_too_few_images_for_the_fractions_is_a_sentence(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path, per_class=2)
    with pytest.raises(AfsearchError, match=r"'class_0' .* has 2 images, too few"):
        make(root).data(0)


def test_an_unset_data_dir_is_refused_where_data_or_network_is_built() -> None:
    task = make(None)  # a space's checks make the task with its defaults
    for build_part in (lambda: task.data(0), lambda: task.build_model(nn.ReLU)):
        with pytest.raises(AfsearchError, match="'data_dir' of task 'image-folder' is not set"):
            build_part()


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("resnet10", ["'resnet10'", "names no timm model", "did you mean 'resnet10t'"]),
        ("test_coatnet", ["'test_coatnet'", "takes no act_layer", "'resnet10t'"]),
        ("test_nfnet", ["'test_nfnet'", "fails to build", "AssertionError", "'resnet10t'"]),
    ],
)
def test_a_model_that_cannot_take_the_candidate_is_a_sentence(
    fake_image_dir: Path, model: str, words: list[str]
) -> None:
    with pytest.raises(AfsearchError) as info:
        list(make(fake_image_dir, model=model).fit(nn.ReLU, seed=0))
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("missing", ["torchvision", "timm"])
def test_without_the_vision_extra_the_task_says_what_to_install(
    fake_image_dir: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    task = make(fake_image_dir)
    monkeypatch.setitem(sys.modules, missing, None)  # as if it were not installed
    for build_part in (lambda: task.build_data(0), lambda: task.build_model(nn.ReLU)):
        with pytest.raises(AfsearchError) as info:
            build_part()
        assert missing in str(info.value) and "pip install 'afsearch[vision]'" in str(info.value)


def test_the_cli_refuses_a_bad_folder_in_one_line(tmp_path: Path) -> None:
    space = {
        "task": {"name": "image-folder", "options": {"data_dir": str(tmp_path / "nowhere")}},
        "families": [{"family": "swish"}],
    }
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "not a folder" in result.output and "Traceback" not in result.output
