"""Tasks whose data are datasets or DataLoaders, streamed to the device by the shared loop."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, TensorDataset

from afsearch.exceptions import AfsearchError
from afsearch.tasks import BaseTask, TaskData, TaskDatasets, TaskSettings, sample_batches
from tests.tasks.custom_task import XorTask


def without_time(results: list[Any]) -> list[dict[str, float]]:
    return [{k: v for k, v in r.metrics.items() if k != "epoch_seconds"} for r in results]


class Permutation(Sampler[int]):
    """A fresh ``randperm`` from its own generator each pass: the order in which the loop
    indexes a TaskData's training tensors (afsearch seeds the generator with the fit's)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.generator = torch.Generator()

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        yield from torch.randperm(self.n, generator=self.generator).tolist()


class XorDatasets(XorTask):
    """XorTask's tensors as TensorDatasets: afsearch makes the DataLoaders."""

    name = "xor-datasets"
    default_settings = TaskSettings(
        epochs=2, batch_size=32, options={"n": 300, "noise": 0.0, "ready": False}
    )

    def build_data(self, seed: int) -> TaskDatasets:
        data = super().build_data(seed)
        assert isinstance(data, TaskData)
        splits = [
            TensorDataset(x, y)
            for x, y in [
                (data.x_train, data.y_train),
                (data.x_val, data.y_val),
                (data.x_test, data.y_test),
            ]
        ]
        if self.options["ready"]:  # DataLoaders that order batches as TaskData's loop does
            n = len(splits[0])
            return TaskDatasets(
                DataLoader(splits[0], batch_size=32, sampler=Permutation(n)),
                DataLoader(splits[1], batch_size=1024),
                DataLoader(splits[2], batch_size=1024),
            )
        return TaskDatasets(*splits)

    def prepare_batch(
        self, x: torch.Tensor, *, train: bool, generator: torch.Generator
    ) -> torch.Tensor:
        if train and self.options["noise"]:  # augmentation drawn from the fit's generator
            return x + self.options["noise"] * torch.randn(x.shape, generator=generator)
        return x


def streamed(**options: Any) -> XorDatasets:
    epochs = options.pop("epochs", 2)
    return XorDatasets(XorDatasets.make_settings(epochs=epochs, options=options))


def test_a_stream_in_the_order_of_tensors_gives_their_metrics() -> None:
    settings = XorTask.make_settings(epochs=3, lr=0.05, options={"schedule": "cosine"})
    tensors = without_time(list(XorTask(settings).fit(nn.SiLU, seed=2)))
    options = {**settings.options, "ready": True}
    task = XorDatasets(XorDatasets.make_settings(epochs=3, lr=0.05, options=options))
    stream = without_time(list(task.fit(nn.SiLU, seed=2)))
    assert [sorted(m) for m in stream] == [sorted(m) for m in tensors]
    for got, want in zip(stream, tensors, strict=True):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-9)
    assert stream[0]["train_loss"] == tensors[0]["train_loss"]  # the very same batches


def test_datasets_train_and_report_every_metric() -> None:
    task = streamed(epochs=2)
    results = list(task.fit(nn.ReLU, seed=0))
    assert [r.epoch for r in results] == [1, 2]
    for key in ("val_accuracy", "val_loss", "train_loss", "epoch_seconds"):
        assert all(math.isfinite(r.metrics[key]) for r in results), key
    assert {"test_loss", "test_accuracy"} <= set(results[-1].metrics)
    assert task.last_model is not None
    assert task.evaluate_test(task.last_model, task.data(0)) == pytest.approx(
        {k: results[-1].metrics[k] for k in ("test_loss", "test_accuracy")}
    )


@pytest.mark.parametrize("ready", [False, True], ids=["datasets", "loaders"])
def test_a_stream_is_reproducible(ready: bool) -> None:
    first = without_time(list(streamed(ready=ready).fit(nn.ReLU, seed=3)))
    again = without_time(list(streamed(ready=ready).fit(nn.ReLU, seed=3)))
    # One instance keeps its data, and a ready loader its sampler: each fit reseeds them.
    task = streamed(ready=ready)
    twice = [without_time(list(task.fit(nn.ReLU, seed=3))) for _ in range(2)]
    assert first == again == twice[0] == twice[1]
    assert first != without_time(list(streamed(ready=ready).fit(nn.ReLU, seed=4)))


@pytest.mark.parametrize("ready", [False, True], ids=["datasets", "loaders"])
def test_a_resumed_stream_yields_the_metrics_of_an_uninterrupted_fit(ready: bool) -> None:
    options = {"epochs": 4, "noise": 0.3, "ready": ready}
    whole = without_time(list(streamed(**options).fit(nn.SiLU, seed=5)))
    run = streamed(**options).fit(nn.SiLU, seed=5)
    next(run)
    state = next(run).state
    assert state is not None
    buffer = io.BytesIO()
    torch.save(state(), buffer)  # what a checkpoint of the search does
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    run.close()
    resumed = without_time(list(streamed(**options).fit(nn.SiLU, seed=5, resume=saved)))
    assert resumed == whole[2:]


def test_a_ready_loader_keeps_its_batch_size() -> None:
    calls = [0]

    class Counting(nn.ReLU):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls[0] += int(self.training)
            return super().forward(x)

    # 150 training points: 5 batches of the loader's 32, not 2 of the settings' 128.
    task = XorDatasets(XorDatasets.make_settings(epochs=1, batch_size=128, options={"ready": True}))
    list(task.fit(Counting, seed=0))
    assert calls[0] == 5


def test_workers_load_the_same_batches() -> None:
    alone = without_time(list(streamed(noise=0.1).fit(nn.ReLU, seed=1)))
    workers = without_time(list(streamed(noise=0.1, num_workers=2).fit(nn.ReLU, seed=1)))
    assert workers == alone


def test_pin_memory_on_the_cpu_changes_nothing() -> None:
    alone = without_time(list(streamed(epochs=1).fit(nn.ReLU, seed=1)))
    assert without_time(list(streamed(epochs=1, pin_memory=True).fit(nn.ReLU, seed=1))) == alone


class _Dies(nn.Module):
    dead = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.0 if self.dead else torch.relu(x)


def test_a_stream_that_collapses_to_a_constant_prediction_is_diverged() -> None:
    sites: list[_Dies] = []

    def make() -> nn.Module:
        sites.append(_Dies())
        return sites[-1]

    settings = XorDatasets.make_settings(epochs=6, lr=0.05, options={"n": 600})
    run = XorDatasets(settings).fit(make, seed=0)
    first = next(run)
    assert not first.diverged and first.metrics["val_accuracy"] > 0.7, first.metrics
    for site in sites:
        site.dead = True
    rest = list(run)
    assert rest[-1].diverged and "most common class" in (rest[-1].reason or "")
    assert len(rest) < 5


class Regression(BaseTask):
    """y = sin(3x) from TensorDatasets, with a metric of the loss and the whole split's
    targets, and a training loss of its own."""

    name = "sine-datasets"
    description = "a sine from datasets"
    metric = "val_nmse"
    mode = "min"
    problem = "regression"
    default_settings = TaskSettings(epochs=2, batch_size=16, lr=0.01, options={"tensors": False})

    def build_data(self, seed: int) -> TaskData | TaskDatasets:
        x = torch.linspace(-2, 2, 96).reshape(-1, 1)
        y = torch.sin(3 * x)
        order = torch.randperm(96, generator=torch.Generator().manual_seed(seed))
        x, y = x[order], y[order]
        parts = [(x[:64], y[:64]), (x[64:80], y[64:80]), (x[80:], y[80:])]
        if self.options["tensors"]:
            return TaskData(*(t for pair in parts for t in pair))
        return TaskDatasets(*(TensorDataset(a, b) for a, b in parts))

    def build_model(self, make_activation: Any) -> nn.Module:
        return nn.Sequential(nn.Linear(1, 16), make_activation(), nn.Linear(16, 1))

    def training_loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.trained_on = getattr(self, "trained_on", 0) + x.shape[0]
        return self.loss_fn(model(x), y)

    def loss_metrics(self, prefix: str, loss: float, target: torch.Tensor) -> dict[str, float]:
        return {f"{prefix}_nmse": loss / float(target.var(unbiased=False))}


def test_loss_metrics_and_training_loss_of_a_stream() -> None:
    task = Regression()
    results = list(task.fit(nn.Tanh, seed=0))
    assert task.trained_on == 2 * 64
    data = task.data(0)
    assert isinstance(data, TaskDatasets)
    y_val = torch.stack([y for _, y in data.val])  # type: ignore[attr-defined]
    for result in results:
        want = result.metrics["val_loss"] / float(y_val.var(unbiased=False))
        assert result.metrics["val_nmse"] == pytest.approx(want)
    assert math.isfinite(results[-1].metrics["test_nmse"])


def test_a_task_that_decides_its_steps_wraps_around_its_loader() -> None:
    class SevenSteps(Regression):
        def steps_per_epoch(self, n_train: int) -> int:
            assert n_train == 64
            return 7  # four batches of 16 a pass: one pass and three batches of the next

    task = SevenSteps(SevenSteps.make_settings(epochs=2))
    results = list(task.fit(nn.Tanh, seed=0))
    assert task.trained_on == 2 * 7 * 16
    assert all(math.isfinite(r.metrics["val_nmse"]) for r in results)


def test_sample_batches_draws_from_datasets_and_tensors() -> None:
    for task in (streamed(), XorTask()):
        batches = sample_batches(task, 0, 16, 3)
        assert [tuple(x.shape) for x, _ in batches] == [(16, 2)] * 3
        assert all(y.shape == (16,) for _, y in batches)
        again = sample_batches(task, 0, 16, 3)
        assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"num_workers": -1}, ["'num_workers'", "at least 0", "-1"]),
        ({"num_workers": 1.5}, ["'num_workers'", "an integer", "1.5"]),
        ({"num_workers": True}, ["'num_workers'", "True"]),
        ({"pin_memory": "yes"}, ["'pin_memory'", "true or false", "'yes'"]),
        ({"pin_memory": 1}, ["'pin_memory'", "true or false", "1"]),
    ],
)
def test_bad_loading_options_are_refused(options: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(AfsearchError) as info:
        XorDatasets(TaskSettings(options=options))
    for word in words:
        assert word in str(info.value)


class _Triples(Dataset[tuple[torch.Tensor, ...]]):
    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return torch.zeros(2), torch.tensor(0), torch.tensor(1)


class _Endless(IterableDataset[tuple[torch.Tensor, torch.Tensor]]):
    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            yield torch.zeros(2), torch.tensor(0)


def pairs(n: int) -> TensorDataset:
    return TensorDataset(torch.zeros(n, 2), torch.zeros(n, dtype=torch.long))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("tensors", ["build_data", "'xor-bad'", "TaskData", "TaskDatasets", "'tensors'"]),
        (TaskDatasets(pairs(8), [1, 2], pairs(8)), ["'val'", "Dataset or DataLoader", "[1, 2]"]),
        (TaskDatasets(_Triples(), pairs(8), pairs(8)), ["'train'", "pair", "3 items"]),
        (TaskDatasets(_Endless(), pairs(8), pairs(8)), ["'train'", "a length"]),
        (TaskDatasets(pairs(0), pairs(8), pairs(8)), ["'train'", "empty"]),
        (TaskDatasets(pairs(8), pairs(0), pairs(8)), ["'val'", "empty"]),
    ],
    ids=["not-data", "not-a-dataset", "triples", "no-length", "no-train", "no-val"],
)
def test_data_the_loop_cannot_use_is_a_sentence(data: object, words: list[str]) -> None:
    class Bad(XorTask):
        name = "xor-bad"

        def build_data(self, seed: int) -> Any:
            return data

    with pytest.raises(AfsearchError) as info:
        list(Bad().fit(nn.ReLU, seed=0))
    for word in words:
        assert word in str(info.value)
