"""MNIST-1D is generated offline, cached, and leaves the global generators alone."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from afsearch.exceptions import AfsearchError
from afsearch.tasks import MNIST1DMLP
from afsearch.tasks._data import mnist1d_arrays

SMALL = {"num_samples": 300, "n_val": 40}


def test_generation_is_offline_sized_and_cached() -> None:
    x, y, x_test, y_test = mnist1d_arrays(300, 42)
    assert x.shape == (240, 40) and x_test.shape == (60, 40) and y_test.shape == (60,)
    assert set(y.tolist()) <= set(range(10))
    assert mnist1d_arrays(300, 42)[0] is x  # the in-memory cache
    assert not np.array_equal(mnist1d_arrays(300, 7)[0], x)


def test_the_disk_cache_round_trips(tmp_path: Path) -> None:
    first = mnist1d_arrays(300, 42, str(tmp_path))
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == ["mnist1d-n300-seed42.npz"]
    again = mnist1d_arrays(300, 42, str(tmp_path))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_generation_leaves_the_global_generators_alone() -> None:
    np.random.seed(123)
    random.seed(123)
    expected = (np.random.rand(), random.random())
    np.random.seed(123)
    random.seed(123)
    mnist1d_arrays(200, 1234)  # not cached yet, so mnist1d really reseeds
    assert (np.random.rand(), random.random()) == expected


def test_validation_is_held_out_of_training() -> None:
    data = MNIST1DMLP(MNIST1DMLP.make_settings(options=SMALL)).data(0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (200, 40, 60)


def test_too_large_a_validation_split_is_refused() -> None:
    task = MNIST1DMLP(MNIST1DMLP.make_settings(options={"num_samples": 300, "n_val": 240}))
    with pytest.raises(AfsearchError, match=r"'n_val'.*240"):
        task.data(0)
