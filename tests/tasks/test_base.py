"""The shared training loop and TaskSettings, on a tiny task defined in the tests."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from afsearch.exceptions import AfsearchError
from afsearch.tasks import DigitsMLP, TaskSettings
from tests.tasks.custom_task import XorTask


def exploding(after: int, value: float) -> tuple[type[nn.Module], list[int]]:
    """An activation class whose instances return ``x * value`` after ``after`` calls in all,
    and the list holding the count of calls."""
    calls = [0]

    class Exploding(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls[0] += 1
            return x * value if calls[0] > after else torch.relu(x)

    return Exploding, calls


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_a_non_finite_training_loss_ends_the_fit(value: float) -> None:
    # 150 training points in batches of 32: 5 calls an epoch, plus 1 for validation.
    task = XorTask(XorTask.make_settings(epochs=5))
    activation, calls = exploding(after=8, value=value)
    results = list(task.fit(activation, seed=0))

    assert [r.epoch for r in results] == [1, 2]
    assert not results[0].diverged
    assert results[1].diverged
    assert math.isnan(results[1].metrics["train_loss"])
    assert task.metric in results[1].metrics
    # On the CPU the loop stops at the bad batch: no step on a NaN loss, no evaluation after.
    assert calls[0] == 9
    assert task.last_model is not None
    assert all(torch.isfinite(p).all() for p in task.last_model.parameters())


class NaNWhenEvaluating(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) if self.training else x * math.nan


def test_a_non_finite_validation_loss_ends_the_fit() -> None:
    results = list(XorTask(XorTask.make_settings(epochs=3)).fit(NaNWhenEvaluating, seed=0))

    assert len(results) == 1
    assert results[0].diverged
    assert math.isfinite(results[0].metrics["train_loss"])
    assert math.isnan(results[0].metrics["val_loss"])


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_optimizers_schedules_and_clipping_train(optimizer: str) -> None:
    settings = XorTask.make_settings(
        epochs=4,
        lr=0.05,
        optimizer=optimizer,
        weight_decay=1e-4,
        options={"n": 600, "schedule": "cosine", "grad_clip": 1.0},
    )
    results = list(XorTask(settings).fit(nn.ReLU, seed=0))
    assert results[-1].metrics["train_loss"] < results[0].metrics["train_loss"]


def test_grad_clip_changes_training() -> None:
    def final(clip: float | None) -> float:
        settings = XorTask.make_settings(epochs=1, lr=0.5, options={"grad_clip": clip})
        return list(XorTask(settings).fit(nn.ReLU, seed=0))[-1].metrics["train_loss"]

    assert final(1e-3) != final(None)


def test_evaluate_test_scores_the_last_model() -> None:
    task = XorTask()
    results = list(task.fit(nn.ReLU, seed=0))
    assert task.last_model is not None
    test = task.evaluate_test(task.last_model, task.data(0))
    assert test["test_accuracy"] == results[-1].metrics["test_accuracy"]


def test_data_is_built_once_per_seed() -> None:
    task = XorTask()
    assert task.data(0) is task.data(0)
    assert not torch.equal(task.data(0).x_train, task.data(1).x_train)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"epochs": 0}, ["epochs", "at least 1", "0"]),
        ({"epochs": 2.5}, ["epochs", "2.5"]),
        ({"batch_size": 0}, ["batch_size", "0"]),
        ({"lr": 0.0}, ["lr", "above 0"]),
        ({"lr": math.nan}, ["lr", "nan"]),
        ({"weight_decay": -1.0}, ["weight_decay", "-1.0"]),
        ({"optimizer": "rmsprop"}, ["optimizer", "'rmsprop'", "'adam', 'adamw' or 'sgd'"]),
        ({"options": {1: 2}}, ["options", "string keys"]),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], words: list[str]) -> None:
    with pytest.raises(AfsearchError) as info:
        TaskSettings(**kwargs)  # type: ignore[arg-type]
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"wdth": 3}, ["'wdth'", "'digits-mlp'", "'width'", "'depth'"]),
        ({"width": "64"}, ["'width'", "an integer", "'64'"]),
        ({"width": 0}, ["'width'", "at least 1", "0"]),
        ({"schedule": "step"}, ["'schedule'", "'step'", "'constant' or 'cosine'"]),
        ({"grad_clip": -1}, ["'grad_clip'", "-1"]),
        ({"amp": "yes"}, ["'amp'", "true or false"]),
        ({"activation_lr_factor": 0}, ["'activation_lr_factor'", "above 0", "0"]),
        ({"activation_weight_decay": -1.0}, ["'activation_weight_decay'", "-1.0"]),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], words: list[str]) -> None:
    with pytest.raises(AfsearchError) as info:
        DigitsMLP(TaskSettings(options=options))
    for word in words:
        assert word in str(info.value)


def test_make_settings_keeps_the_task_defaults() -> None:
    settings = DigitsMLP.make_settings(epochs=3, options={"width": 8})
    assert settings.epochs == 3
    assert settings.batch_size == DigitsMLP.default_settings.batch_size
    assert settings.options == {"width": 8, "depth": 2}
    with pytest.raises(AfsearchError, match="'epochz'"):
        DigitsMLP.make_settings(epochz=3)


def test_options_merge_with_the_defaults() -> None:
    task = DigitsMLP(TaskSettings(options={"width": 8}))
    assert task.options["depth"] == 2
    assert task.options["grad_clip"] is None
    assert task.settings.options == task.options


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"seed": -1}, ["seed", "-1"]),
        ({"seed": 1.5}, ["seed", "1.5"]),
        ({"seed": 0, "device": "gpu"}, ["device", "'gpu'", "'cpu'"]),
    ],
)
def test_bad_fit_arguments_are_refused_at_the_call(
    kwargs: dict[str, object], words: list[str]
) -> None:
    with pytest.raises(AfsearchError) as info:
        XorTask().fit(nn.ReLU, **kwargs)  # type: ignore[arg-type]
    for word in words:
        assert word in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_it_is_refused() -> None:
    with pytest.raises(AfsearchError, match=r"'cuda'.*'cpu'"):
        XorTask().fit(nn.ReLU, seed=0, device="cuda")


class _Scale(nn.Module):
    """An activation with a trainable parameter, as a compiled candidate has."""

    def __init__(self) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.beta * x)


def test_activation_parameters_train_in_their_own_group_without_weight_decay() -> None:
    settings = XorTask.make_settings(
        epochs=1, lr=0.01, weight_decay=0.1, options={"activation_lr_factor": 5.0}
    )
    task = XorTask(settings)
    list(task.fit(_Scale, seed=0))
    assert task.last_model is not None
    betas = {id(m.beta) for m in task.last_model.modules() if isinstance(m, _Scale)}
    # The optimizer is rebuilt the same way for inspection.
    from afsearch.tasks._training import make_optimizer

    sites = [m for m in task.last_model.modules() if isinstance(m, _Scale)]
    optimizer = make_optimizer(
        task.last_model,
        settings,
        activation_params=[s.beta for s in sites],
        lr_factor=5.0,
        activation_weight_decay=0.0,
    )
    rest, own = optimizer.param_groups
    assert {id(p) for p in own["params"]} == betas
    assert not betas & {id(p) for p in rest["params"]}
    assert (own["lr"], own["weight_decay"]) == (pytest.approx(0.05), 0.0)
    assert (rest["lr"], rest["weight_decay"]) == (0.01, 0.1)


def test_weight_decay_no_longer_pulls_activation_parameters_to_zero() -> None:
    # With SGD, weight decay and a zero gradient, a decayed parameter shrinks every step.
    class Frozen(_Scale):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x) + 0.0 * self.beta

    settings = XorTask.make_settings(epochs=2, lr=0.1, optimizer="sgd", weight_decay=0.5)
    task = XorTask(settings)
    list(task.fit(Frozen, seed=0))
    assert task.last_model is not None
    (beta,) = {float(m.beta) for m in task.last_model.modules() if isinstance(m, Frozen)}
    assert beta == pytest.approx(1.0)


class _Dies(nn.Module):
    """ReLU until told to die, then a constant: the network can only predict a constant."""

    dead = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.0 if self.dead else torch.relu(x)


def test_a_training_that_collapses_to_a_constant_prediction_is_diverged() -> None:
    sites: list[_Dies] = []

    def make() -> nn.Module:
        sites.append(_Dies())
        return sites[-1]

    settings = XorTask.make_settings(epochs=6, lr=0.05, options={"n": 600})
    run = XorTask(settings).fit(make, seed=0)
    first = next(run)
    assert not first.diverged and first.metrics["val_accuracy"] > 0.7, first.metrics
    for site in sites:
        site.dead = True
    rest = list(run)
    assert rest[-1].diverged, [r.metrics["val_accuracy"] for r in rest]
    assert "collapsed" in (rest[-1].reason or "") and "most common class" in rest[-1].reason
    assert len(rest) < 5  # the loop stops at the collapse


def test_a_training_that_never_learned_is_not_called_collapsed() -> None:
    results = list(XorTask(XorTask.make_settings(epochs=2)).fit(lambda: _Dead(), seed=0))
    assert not any(r.diverged for r in results)


class _Dead(_Dies):
    dead = True
