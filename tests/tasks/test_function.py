"""Training functions: a user's own loop, ``train(trial)``, driven epoch by epoch as a task."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

import pytest
import torch
from torch import nn

from afsearch.exceptions import AfsearchError
from afsearch.tasks import FunctionTask, TaskSettings, Trial, TrialStopped, count_sites, get_task
from afsearch.tasks._function import is_training_function

TRAIN = '''
import math

import torch
from torch import nn

EVENTS = []


def train(trial):
    """Signs of x0 * x1 from a DataLoader, a small MLP."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 4, generator=g)
    y = (x[:, 0] * x[:, 1] > 0).long()
    width = trial.options.get("width", 16)
    model = nn.Sequential(
        nn.Linear(4, width), trial.make_activation(channels=width, inplace=True),
        nn.Linear(width, width), trial.make_activation(channels=width),
        nn.Linear(width, 2),
    ).to(trial.device)
    optimizer = trial.make_optimizer(model)
    state = trial.restore()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    data = torch.utils.data.TensorDataset(x[:400], y[:400])
    loader = torch.utils.data.DataLoader(data, batch_size=trial.settings.batch_size, shuffle=True)
    try:
        for epoch in range(trial.start_epoch, trial.settings.epochs + 1):
            model.train()
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(xb), yb)
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                out = model(x[400:500])
                accuracy = (out.argmax(1) == y[400:500]).float().mean()
            if trial.should_checkpoint():
                trial.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()})
            if trial.options.get("nan_at") == epoch:
                loss = torch.tensor(math.nan)
            trial.report(val_accuracy=accuracy, train_loss=loss)
        EVENTS.append("after the loop")
    finally:
        EVENTS.append("finally")
'''


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "usertrain_fn.py").write_text(TRAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "usertrain_fn", raising=False)
    import usertrain_fn

    usertrain_fn.EVENTS.clear()
    return usertrain_fn


def task(epochs: int = 3, **options) -> FunctionTask:
    t = get_task(
        "usertrain_fn:train", TaskSettings(epochs=epochs, batch_size=100, lr=1e-2, options=options)
    )
    assert isinstance(t, FunctionTask)
    return t


def test_an_import_path_to_a_training_function_is_a_task(module) -> None:
    t = task(8)
    assert t.name == "usertrain_fn:train"
    assert t.description == "Signs of x0 * x1 from a DataLoader, a small MLP."
    assert is_training_function(module.train)
    assert not is_training_function(FunctionTask)


def test_fit_yields_one_result_per_report_and_the_function_runs_to_its_end(module) -> None:
    results = list(task(3).fit(nn.ReLU, seed=0))
    assert [r.epoch for r in results] == [1, 2, 3]
    assert {"val_accuracy", "train_loss", "epoch_seconds"} <= set(results[-1].metrics)
    assert all(isinstance(v, float) for v in results[-1].metrics.values())
    assert results[-1].metrics["val_accuracy"] > 0.6
    assert module.EVENTS == ["after the loop", "finally"]


def test_the_same_seed_gives_the_same_metrics(module) -> None:
    first = [r.metrics["val_accuracy"] for r in task(2).fit(nn.ReLU, seed=5)]
    again = [r.metrics["val_accuracy"] for r in task(2).fit(nn.ReLU, seed=5)]
    other = [r.metrics["val_accuracy"] for r in task(2).fit(nn.Tanh, seed=5)]
    assert first == again
    assert first != other


def test_closing_the_fit_stops_the_function_through_report(module) -> None:
    threads = threading.active_count()
    run = task(5).fit(nn.ReLU, seed=0)
    assert next(run).epoch == 1
    run.close()  # what a scheduler's early stop does
    assert module.EVENTS == ["finally"]  # no code after the loop ran
    assert threading.active_count() == threads


def test_a_non_finite_report_ends_the_fit_as_diverged(module) -> None:
    results = list(task(5, nan_at=2).fit(nn.ReLU, seed=0))
    assert [r.epoch for r in results] == [1, 2]
    assert results[-1].diverged and "train_loss=nan" in results[-1].reason
    assert module.EVENTS == ["finally"]


def test_a_checkpoint_resumes_to_the_metrics_of_an_uninterrupted_fit(module) -> None:
    t = task(4)
    t.checkpoint_every = 2
    whole, saved = [], None
    for result in t.fit(nn.ReLU, seed=3):
        whole.append(result.metrics["val_accuracy"])
        if result.epoch == 2:
            assert result.state is not None
            buffer = io.BytesIO()
            torch.save(result.state(), buffer)  # what a checkpoint of the search does
            buffer.seek(0)
            saved = torch.load(buffer, weights_only=True)
        elif result.epoch == 1:
            assert result.state is None  # should_checkpoint() was false: nothing saved
    resumed = [r.metrics["val_accuracy"] for r in t.fit(nn.ReLU, seed=3, resume=saved)]
    assert resumed == whole[2:]


def test_a_resume_state_of_something_else_is_refused(module) -> None:
    with pytest.raises(AfsearchError, match="resume must be a state"):
        task(4).fit(nn.ReLU, seed=0, resume={"epoch": 2, "model": {}})


def test_activation_sites_are_counted_by_running_to_the_first_forward(module) -> None:
    assert count_sites(task(3, width=12)) == [12, 12]
    assert module.EVENTS == ["finally"]


def test_make_activation_passes_channels_and_make_optimizer_groups_the_activations(module) -> None:
    made = []

    def make(channels=None):
        made.append(channels)
        return nn.PReLU(channels or 1)

    list(task(1, width=6).fit(make, seed=0))
    assert made == [6, 6]


def write(tmp_path: Path, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(body)
    sys.modules.pop(name, None)
    return name


def test_an_error_in_the_function_reaches_the_caller(tmp_path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    write(tmp_path, "usertrain_err", "def train(trial):\n    raise ValueError('bad shape')\n")
    with pytest.raises(ValueError, match="bad shape"):
        list(get_task("usertrain_err:train").fit(nn.ReLU, seed=0))


def test_a_function_that_never_reports_is_a_sentence(tmp_path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    write(tmp_path, "usertrain_quiet", "def train(trial):\n    trial.make_activation()\n")
    with pytest.raises(AfsearchError, match=r"without calling trial.report"):
        list(get_task("usertrain_quiet:train").fit(nn.ReLU, seed=0))


def test_a_report_that_is_not_a_number_is_a_sentence(tmp_path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    write(tmp_path, "usertrain_str", "def train(trial):\n    trial.report(val_accuracy='high')\n")
    with pytest.raises(AfsearchError, match="report numbers"):
        list(get_task("usertrain_str:train").fit(nn.ReLU, seed=0))


def test_reports_past_the_settings_epochs_end_the_function(tmp_path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    body = "def train(trial):\n    for _ in range(10):\n        trial.report(m=1.0)\n"
    write(tmp_path, "usertrain_long", body)
    t = get_task("usertrain_long:train", TaskSettings(epochs=2))
    assert [r.epoch for r in t.fit(nn.ReLU, seed=0)] == [1, 2]


def test_a_parameter_annotated_trial_marks_a_training_function() -> None:
    def train(t: Trial) -> None: ...

    def factory(settings): ...

    assert is_training_function(train)
    assert not is_training_function(factory)
    assert issubclass(TrialStopped, BaseException) and not issubclass(TrialStopped, Exception)


def test_a_training_function_has_no_network_apart_from_its_training(module) -> None:
    with pytest.raises(AfsearchError, match="training function"):
        task().build_model(nn.ReLU)
