"""Dataset builders: everything is generated or read locally, nothing is ever downloaded.

Each builder returns a :class:`TaskData` of CPU tensors. Heavy imports (scikit-learn, mnist1d)
happen inside the builders, so importing :mod:`afsearch.tasks` stays cheap.
"""

from __future__ import annotations

import functools
import os
import pickle
import random
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from afsearch.exceptions import AfsearchError
from afsearch.tasks._base import TaskData

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _split_indices(n: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` with the seed and cut off ``n_val`` indices for validation."""
    perm = np.random.default_rng(seed).permutation(n)
    return perm[n_val:], perm[:n_val]


def _as_float(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float32)


def _as_long(y: np.ndarray) -> torch.Tensor:
    return torch.tensor(y, dtype=torch.long)


# --- scikit-learn digits ---------------------------------------------------------------------


def digits_data(seed: int) -> TaskData:
    """The 1,797 8x8 digits of scikit-learn, standardised, split 60/20/20 by class."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    idx = np.arange(len(y))
    state = seed % 2**32
    train, rest = train_test_split(idx, test_size=0.4, stratify=y, random_state=state)
    val, test = train_test_split(rest, test_size=0.5, stratify=y[rest], random_state=state)
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std == 0] = 1.0  # corner pixels are always 0
    x = (x - mean) / std
    return TaskData(
        _as_float(x[train]), _as_long(y[train]),
        _as_float(x[val]), _as_long(y[val]),
        _as_float(x[test]), _as_long(y[test]),
    )  # fmt: skip


# --- MNIST-1D ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _generate_mnist1d(num_samples: int, data_seed: int) -> Arrays:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    args.seed = data_seed
    # make_dataset reseeds the global NumPy and Python generators; put them back afterwards.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = (
        data["x"].astype(np.float32), data["y"].astype(np.int64),
        data["x_test"].astype(np.float32), data["y_test"].astype(np.int64),
    )  # fmt: skip
    for array in arrays:
        array.setflags(write=False)  # shared by every caller of the cache
    return arrays


def mnist1d_arrays(num_samples: int, data_seed: int, cache_dir: str | None = None) -> Arrays:
    """MNIST-1D generated offline (x, y, x_test, y_test), cached in memory and in ``cache_dir``.

    With the mnist1d defaults (5,000 samples, seed 42) this is the dataset of Greydanus 2020:
    4,000 training and 1,000 test signals of length 40.
    """
    if cache_dir is None:
        return _generate_mnist1d(num_samples, data_seed)
    directory = Path(cache_dir).expanduser()
    path = directory / f"mnist1d-n{num_samples}-seed{data_seed}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            return stored["x"], stored["y"], stored["x_test"], stored["y_test"]
    x, y, x_test, y_test = arrays = _generate_mnist1d(num_samples, data_seed)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # Write then rename, so parallel trials never read a half-written file.
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".npz", delete=False) as handle:
            np.savez(handle, x=x, y=y, x_test=x_test, y_test=y_test)
        os.replace(handle.name, path)
    except OSError as error:
        raise AfsearchError(
            f"Option 'cache_dir' {cache_dir!r} is not a writable directory: {error}."
        ) from error
    return arrays


def mnist1d_data(
    seed: int, *, num_samples: int, data_seed: int, n_val: int, cache_dir: str | None
) -> TaskData:
    """MNIST-1D, ``n_val`` training signals (chosen by ``seed``) held out for validation."""
    x, y, x_test, y_test = mnist1d_arrays(num_samples, data_seed, cache_dir)
    if n_val >= len(y):
        raise AfsearchError(
            f"Option 'n_val' must be below the {len(y)} MNIST-1D training signals, got {n_val}."
        )
    train, val = _split_indices(len(y), n_val, seed)
    return TaskData(
        _as_float(x[train]), _as_long(y[train]),
        _as_float(x[val]), _as_long(y[val]),
        _as_float(x_test), _as_long(y_test),
    )  # fmt: skip


# --- teacher-student regression ---------------------------------------------------------------

# Known activations for the teacher, written with torch directly so the task depends on nothing
# else in afsearch; a search should find the one the teacher used.
TEACHER_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "gelu": F.gelu,
    "silu": F.silu,
    "tanh": torch.tanh,
    "elu": F.elu,
    "softplus": F.softplus,
    "sin": torch.sin,
}

# Weights of std gain/sqrt(fan_in) put pre-activations around [-3, 3], where the known
# activations differ; a linear student then leaves roughly a fifth of the variance unexplained.
_TEACHER_GAIN = 2.0
_TEACHER_BIAS_STD = 0.5


def teacher_function(
    teacher_activation: str | Mapping[str, Any],
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The teacher's activation: a name of :data:`TEACHER_ACTIVATIONS`, or any activation
    config (``{family: swish, beta: 2.5}``, an operator tree), built by its family with its
    parameters fixed at the config's values."""
    if isinstance(teacher_activation, str):
        return TEACHER_ACTIVATIONS[teacher_activation]
    from afsearch.activations import build
    from afsearch.compiler import CompiledActivation

    module = CompiledActivation(build(dict(teacher_activation))).requires_grad_(False)
    return module


def teacher_data(
    seed: int,
    *,
    teacher_activation: str | Mapping[str, Any],
    teacher_seed: int,
    in_dim: int,
    hidden: int,
    depth: int,
    n_train: int,
    n_val: int,
    n_test: int,
) -> TaskData:
    """Gaussian inputs (drawn with ``seed``) and the outputs of a fixed random teacher MLP.

    The teacher (weights drawn with ``teacher_seed``) is ``in_dim -> hidden x depth -> 1`` with
    ``teacher_activation`` after each hidden layer. Targets are standardised with the training
    mean and std, so a validation MSE of 1 is as good as predicting the mean.
    """
    act = teacher_function(teacher_activation)
    weights = torch.Generator().manual_seed(teacher_seed)
    layers = []
    fan_in = in_dim
    for _ in range(depth):
        w = torch.randn(hidden, fan_in, generator=weights) * _TEACHER_GAIN / fan_in**0.5
        b = torch.randn(hidden, generator=weights) * _TEACHER_BIAS_STD
        layers.append((w, b))
        fan_in = hidden
    w_out = torch.randn(1, fan_in, generator=weights) / fan_in**0.5

    n = n_train + n_val + n_test
    x = torch.randn(n, in_dim, generator=torch.Generator().manual_seed(seed))
    h = x
    with torch.no_grad():
        for w, b in layers:
            h = act(h @ w.T + b)
        y = h @ w_out.T
    y = (y - y[:n_train].mean()) / y[:n_train].std()
    val_end = n_train + n_val
    return TaskData(
        x[:n_train], y[:n_train], x[n_train:val_end], y[n_train:val_end], x[val_end:], y[val_end:]
    )


# --- CIFAR-10 from a local directory ----------------------------------------------------------

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
_CIFAR_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_HELP = (
    "put the python version of CIFAR-10 (cifar-10-python.tar.gz from "
    "https://www.cs.toronto.edu/~kriz/cifar.html, unpacked) there yourself, "
    "since afsearch downloads nothing"
)


def find_cifar_folder(data_dir: str) -> Path:
    """The folder holding CIFAR-10's batches: ``data_dir/cifar-10-batches-py`` or ``data_dir``."""
    root = Path(data_dir).expanduser()
    for folder in (root / "cifar-10-batches-py", root):
        if (folder / "test_batch").is_file():
            return folder
    raise AfsearchError(
        f"Option 'data_dir' {data_dir!r} holds no CIFAR-10 'test_batch' (in it or in its "
        f"'cifar-10-batches-py' folder); {_CIFAR_HELP}."
    )


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    # The official CIFAR-10 format is a pickle; only read files the user put there on purpose.
    # latin1 reads the Python 2 pickles of the official batches as torchvision does.
    with path.open("rb") as handle:
        batch = pickle.load(handle, encoding="latin1")
    images = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch["labels"], dtype=np.int64)


def _read_cifar_folder(folder: Path, train_files: list[Path]) -> Arrays:
    """The batches read by afsearch itself, where torchvision is not installed."""
    parts = [_read_cifar_batch(path) for path in train_files]
    x_test, y_test = _read_cifar_batch(folder / "test_batch")
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return x, y, x_test, y_test


def _read_cifar_torchvision(folder: Path, data_dir: str) -> Arrays:
    """The batches read by ``torchvision.datasets.CIFAR10``, which checks every file's MD5 sum
    and never downloads here."""
    from torchvision.datasets import CIFAR10

    reader: type[CIFAR10] = CIFAR10
    if folder.name != CIFAR10.base_folder:  # the batches lie in data_dir itself
        # base_folder is how torchvision's own CIFAR100 names its folder, too.
        reader = type("CIFAR10", (CIFAR10,), {"base_folder": folder.name})
    try:
        train = reader(str(folder.parent), train=True, download=False)
        test = reader(str(folder.parent), train=False, download=False)
    except RuntimeError:  # torchvision's message suggests download=True, which afsearch never does
        raise AfsearchError(
            f"Option 'data_dir' {data_dir!r}: torchvision's CIFAR-10 reader refused "
            f"{str(folder)!r}, since it needs 'data_batch_1' to 'data_batch_5', 'test_batch' and "
            f"'batches.meta' with their official contents (it checks their MD5 sums); "
            f"{_CIFAR_HELP}."
        ) from None

    def channels_first(images: np.ndarray) -> np.ndarray:  # torchvision keeps (N, H, W, C)
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2))

    return (
        channels_first(train.data), np.asarray(train.targets, dtype=np.int64),
        channels_first(test.data), np.asarray(test.targets, dtype=np.int64),
    )  # fmt: skip


@functools.lru_cache(maxsize=1)
def cifar10_arrays(data_dir: str) -> Arrays:
    """CIFAR-10 as uint8 images ``(N, 3, 32, 32)`` and labels: x, y, x_test, y_test.

    Reads the batches in ``data_dir`` or ``data_dir/cifar-10-batches-py`` through
    ``torchvision.datasets.CIFAR10`` (``download=False``) where torchvision is installed: every
    file of the official set is then needed, with its official MD5 sum. Without torchvision
    afsearch reads ``data_batch_1`` ... ``data_batch_5`` (those present, at least one) and
    ``test_batch`` itself.
    """
    folder = find_cifar_folder(data_dir)
    train_files = [folder / name for name in _CIFAR_TRAIN_FILES if (folder / name).is_file()]
    if not train_files:
        raise AfsearchError(
            f"Option 'data_dir' {data_dir!r} has 'test_batch' but no 'data_batch_1' to "
            f"'data_batch_5' in {str(folder)!r}; {_CIFAR_HELP}."
        )
    try:
        import torchvision  # noqa: F401 - only whether it is there
    except ImportError:
        return _read_cifar_folder(folder, train_files)
    return _read_cifar_torchvision(folder, data_dir)


def cifar10_data(seed: int, *, data_dir: str, n_val: int, subset: int | None) -> TaskData:
    """CIFAR-10 as uint8 tensors; ``n_val`` training images (chosen by seed) validate.

    ``subset`` keeps only the first N of the remaining training images, for quick runs.
    """
    x, y, x_test, y_test = cifar10_arrays(str(Path(data_dir).expanduser().resolve()))
    if n_val >= len(y):
        raise AfsearchError(
            f"Option 'n_val' must be below the {len(y)} CIFAR-10 training images, got {n_val}."
        )
    train, val = _split_indices(len(y), n_val, seed)
    if subset is not None:
        train = train[:subset]
    return TaskData(
        torch.from_numpy(x[train]), _as_long(y[train]),
        torch.from_numpy(x[val]), _as_long(y[val]),
        torch.from_numpy(x_test.copy()), _as_long(y_test),
    )  # fmt: skip
