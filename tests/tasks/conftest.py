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


def write_fake_cifar(root: Path, n_batches: int = 2, per_batch: int = 20) -> Path:
    """A CIFAR-10 folder in the official pickle format, filled with random images."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, n_batches + 1)] + ["test_batch"]
    for name in names:
        batch = {
            b"data": rng.integers(0, 256, size=(per_batch, 3 * 32 * 32), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, size=per_batch)],
        }
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle)
    return root


@pytest.fixture(scope="session")
def fake_cifar_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_cifar(tmp_path_factory.mktemp("cifar"))
