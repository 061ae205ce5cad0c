"""Fixtures for the task tests: one CPU thread, and a fake CIFAR-10 directory."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.ray_fixtures import init_local_ray, ray_local  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # The test machine is shared; tiny models gain nothing from more threads.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_fake_cifar(
    root: Path, n_batches: int = 5, per_batch: int = 8, n_test: int = 20, meta: bool = True
) -> Path:
    """A CIFAR-10 folder in the official pickle format (Python 3 pickles with the official
    keys), filled with random images: ``per_batch`` in each of ``n_batches`` training batches,
    ``n_test`` in the test batch."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sizes = {f"data_batch_{i}": per_batch for i in range(1, n_batches + 1)}
    sizes["test_batch"] = n_test
    for name, size in sizes.items():
        batch = {
            "data": rng.integers(0, 256, size=(size, 3 * 32 * 32), dtype=np.uint8),
            "labels": [int(v) for v in rng.integers(0, 10, size=size)],
        }
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle)
    if meta:
        with (folder / "batches.meta").open("wb") as handle:
            pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, handle)
    return root


@pytest.fixture(autouse=True)
def _fake_cifar_passes_torchvisions_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision's CIFAR10 checks the official files' MD5 sums; a fake set has others, so
    its reader is told to check that the files are there and nothing more (a sum of None)."""
    try:
        from torchvision.datasets import CIFAR10
    except ImportError:
        return
    for attr in ("train_list", "test_list"):
        monkeypatch.setattr(CIFAR10, attr, [[name, None] for name, _ in getattr(CIFAR10, attr)])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": None})


@pytest.fixture(scope="session")
def fake_cifar_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_cifar(tmp_path_factory.mktemp("cifar"))


#: The colour of each class's shape in write_image_folder.
COLOURS = ((220, 40, 40), (40, 200, 60), (50, 70, 230), (230, 200, 40))


def write_image_folder(
    root: Path, classes: int = 3, per_class: int = 8, size: int = 16, splits: bool = False
) -> Path:
    """Class folders of small PNGs in ``root``: class k's images show a square of colour k at a
    random place on a noisy grey background. ``splits`` writes ``train/``, ``val/`` and
    ``test/`` folders of them (``per_class`` images each) instead."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "val", "test") if splits else ("",):
        for k in range(classes):
            folder = root / split / f"class_{k}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(90, 140, size=(size, size, 3), dtype=np.uint8)
                side = int(rng.integers(size // 3, size // 2 + 1))
                top, left = (int(v) for v in rng.integers(0, size - side + 1, size=2))
                pixels[top : top + side, left : left + side] = COLOURS[k]
                Image.fromarray(pixels).save(folder / f"image_{i}.png")
    return root


@pytest.fixture(scope="session")
def fake_image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_image_folder(tmp_path_factory.mktemp("images"))
