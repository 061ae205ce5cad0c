"""CIFAR-10 from a local folder (a fake one written here), and the on-device augmentation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from afsearch.exceptions import AfsearchError
from afsearch.tasks import CIFAR10ResNet20
from afsearch.tasks._cifar10 import normalise, random_crop_flip
from tests.tasks.conftest import write_fake_cifar


def make(data_dir: Path | str | None, **options: object) -> CIFAR10ResNet20:
    options = {"data_dir": None if data_dir is None else str(data_dir), **options}
    return CIFAR10ResNet20(CIFAR10ResNet20.make_settings(options=options))


@pytest.mark.parametrize("data_dir", [None, "/nonexistent/cifar"])
def test_missing_data_says_where_to_put_it(data_dir: str | None) -> None:
    with pytest.raises(AfsearchError) as info:
        make(data_dir)
    assert "'data_dir'" in str(info.value)
    assert "downloads nothing" in str(info.value)


def test_reads_the_batches_folder_or_the_folder_itself(fake_cifar_dir: Path) -> None:
    for folder in (fake_cifar_dir, fake_cifar_dir / "cifar-10-batches-py"):
        data = make(folder, n_val=10).data(0)
        assert data.x_train.shape == (30, 3, 32, 32)
        assert data.x_train.dtype == torch.uint8
        assert (len(data.y_val), len(data.y_test)) == (10, 20)


def test_subset_trims_the_training_images(fake_cifar_dir: Path) -> None:
    assert len(make(fake_cifar_dir, n_val=10, subset=8).data(0).y_train) == 8


def test_a_folder_without_training_batches_is_refused(tmp_path: Path) -> None:
    root = write_fake_cifar(tmp_path, n_batches=0)
    with pytest.raises(AfsearchError, match="data_batch_1"):
        make(root, n_val=1).data(0)


def test_crops_are_windows_of_the_padded_image_maybe_mirrored() -> None:
    x = torch.randint(1, 256, (16, 3, 32, 32), dtype=torch.uint8)
    out = random_crop_flip(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    flipped = 0
    for image, source in zip(out, padded, strict=True):
        windows = [
            (source[:, i : i + 32, j : j + 32], mirrored)
            for i in range(9)
            for j in range(9)
            for mirrored in (False, True)
        ]
        matches = [m for w, m in windows if torch.equal(image, w.flip(2) if m else w)]
        assert matches, "an output is not a crop of its input"
        flipped += matches[0]
    assert 0 < flipped < 16


def test_normalise_uses_the_cifar_statistics() -> None:
    x = torch.full((1, 3, 2, 2), 125, dtype=torch.uint8)
    out = normalise(x)
    assert out.dtype == torch.float32
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([-0.0049, 0.0328, 0.1670]), atol=1e-3)


def test_torchvision_and_afsearchs_own_reader_read_the_same_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torchvision")
    from afsearch.tasks._data import cifar10_arrays

    root = write_fake_cifar(tmp_path)
    cifar10_arrays.cache_clear()
    through_torchvision = cifar10_arrays(str(root))
    cifar10_arrays.cache_clear()
    monkeypatch.setitem(sys.modules, "torchvision", None)  # as if it were not installed
    own = cifar10_arrays(str(root))
    cifar10_arrays.cache_clear()
    for a, b in zip(through_torchvision, own, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert own[0].shape == (40, 3, 32, 32) and own[2].shape == (20, 3, 32, 32)


def test_torchvision_checks_the_files_and_its_refusal_is_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tv = pytest.importorskip("torchvision")
    root = write_fake_cifar(tmp_path)
    monkeypatch.setattr(tv.datasets.CIFAR10, "test_list", [["test_batch", "0" * 32]])
    with pytest.raises(AfsearchError) as info:
        make(root, n_val=1).data(0)
    message = str(info.value)
    assert "MD5" in message and "downloads nothing" in message and "download=True" not in message


@pytest.mark.parametrize("meta", [True, False], ids=["two-batches", "no-meta"])
def test_an_incomplete_set_is_refused_with_torchvision_and_read_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, meta: bool
) -> None:
    pytest.importorskip("torchvision")
    from afsearch.tasks._data import cifar10_arrays

    root = write_fake_cifar(tmp_path, n_batches=2 if meta else 5, meta=meta)
    with pytest.raises(AfsearchError, match="'batches.meta'"):
        make(root, n_val=1).data(0)
    monkeypatch.setitem(sys.modules, "torchvision", None)
    cifar10_arrays.cache_clear()
    assert len(make(root, n_val=1).data(0).y_train) == (2 if meta else 5) * 8 - 1
    cifar10_arrays.cache_clear()


def test_batches_in_a_folder_of_another_name_are_read(tmp_path: Path) -> None:
    folder = write_fake_cifar(tmp_path) / "cifar-10-batches-py"
    renamed = folder.rename(tmp_path / "my-cifar")
    data = make(renamed, n_val=10).data(0)
    assert (len(data.y_train), len(data.y_test)) == (30, 20)
