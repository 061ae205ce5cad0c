"""Run logs: a real launch writes every trial to MLflow and TensorBoard, read back here with
the libraries' own readers and compared with what the trial database holds."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.exceptions import AfsearchError
from afsearch.orchestrator import LaunchObserver, launch
from afsearch.store import epochs, trials
from afsearch.trial import BaseRunLogger, LoggedTrial, TrialEnd, get_run_logger
from afsearch.trial import _run_logs as registry
from afsearch.trial._run_logs import NOT_LOGGED


def write_space(path: Path, **overrides: object) -> Path:
    data: dict = {
        "task": {
            "name": "digits-mlp",
            "epochs": 2,
            "batch_size": 128,
            "options": {"width": 16, "depth": 1},
        },
        "scheduler": "none",
        "num_samples": 2,
        "max_concurrent": 2,
        "log": ["mlflow", "tensorboard"],
        "families": [{"family": "swish", "beta": {"low": 0.5, "high": 2.0}, "trainable": [True]}],
    }
    data.update(overrides)
    path.write_text(yaml.safe_dump(data))
    return path


def mlflow_runs(uri: str, study: str) -> dict[int, object]:
    """The study's MLflow runs by trial number, read with MLflow's search API."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(study)
    assert experiment is not None, f"no MLflow experiment {study!r} in {uri}"
    runs = client.search_runs([experiment.experiment_id])
    return {int(r.data.tags["afsearch.trial"]): r for r in runs}


def tensorboard_run(folder: Path):  # type: ignore[no-untyped-def]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def text_of(accumulator, tag: str) -> str:  # type: ignore[no-untyped-def]
    (event,) = accumulator.Tensors(f"{tag}/text_summary")
    return event.tensor_proto.string_val[0].decode()


def logged_keys(stored: list) -> set[str]:  # type: ignore[type-arg]
    """Every metric some epoch reported (a test metric may come with the last one only)."""
    return {
        k for e in stored for k, v in e.metrics.items() if k not in NOT_LOGGED and v is not None
    }


def by_epoch(stored: list, key: str) -> list:  # type: ignore[type-arg]
    """The stored values of ``key``, by epoch, for comparing with a logged history."""
    return [(e.epoch, pytest.approx(e.metrics[key], rel=1e-6)) for e in stored if key in e.metrics]


@pytest.mark.slow
def test_a_launch_writes_every_trial_to_mlflow_and_tensorboard_as_the_database_holds_it(
    ray_local: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    url, runs = f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "runs"
    space = write_space(tmp_path / "s.yaml")
    result = launch(space, study="logged", url=url, runs_dir=runs)
    assert result.status == "completed" and result.num_trials == 2
    rows = trials("logged", url)
    assert len(rows) == 2

    uri = f"sqlite:///{runs / 'logged' / 'mlflow.db'}"
    found = mlflow_runs(uri, "logged")
    assert sorted(found) == [t.number for t in rows]
    client = mlflow.MlflowClient(tracking_uri=uri)
    for t in rows:
        run = found[t.number]
        stored = epochs(t.id, url)
        tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
        # The run is the trial: named by its number, its activation, expression and config.
        assert tags["mlflow.runName"].startswith(f"#{t.number} swish(beta=")
        assert tags["expression"] == params["expression"] == t.config["expression"]
        assert params["activation.family"] == "swish"
        assert float(params["activation.beta"]) == t.config["activation"]["beta"]
        assert params["task.epochs"] == "2" and params["task"] == "digits-mlp"
        assert params["activation_id"] == t.activation_id
        # How it ended, where, and its learned value.
        assert run.info.status == "FINISHED"
        assert tags["afsearch.status"] == "completed" and tags["device"] == t.device == "cpu"
        assert tags["node"] == t.node
        assert metrics["learned.beta"] == pytest.approx(t.learned_params["mean"]["beta"])
        # Every metric of every epoch, by epoch.
        assert {"val_accuracy", "val_loss", "activation_cost"} <= logged_keys(stored)
        assert set(metrics) == logged_keys(stored) | {"learned.beta"}
        for key in logged_keys(stored):
            history = sorted(
                (m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)
            )
            assert history == by_epoch(stored, key), key

        board = tensorboard_run(runs / "logged" / "tensorboard" / f"trial-{t.number:04d}")
        scalars = set(board.Tags()["scalars"])
        assert scalars == logged_keys(stored) | {"learned/beta"}
        for key in logged_keys(stored):
            assert [(s.step, s.value) for s in board.Scalars(key)] == by_epoch(stored, key), key
        assert board.Scalars("learned/beta")[-1].value == pytest.approx(
            t.learned_params["mean"]["beta"], rel=1e-6
        )
        assert t.config["expression"] in text_of(board, "activation")
        assert '"activation.family": "swish"' in text_of(board, "config")
        assert text_of(board, "status").startswith("completed after epoch 2 (device cpu")
        hparams = board.PluginTagToContent("hparams")
        assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hparams)

    # A resume with --log tensorboard writes the new trial there only; MLflow keeps its two.
    where = ["--study", "logged", "--db", url, "--runs-dir", str(runs)]
    more = ["--resume", "--num-samples", "3", "--log", "tensorboard", "--quiet"]
    resumed = CliRunner().invoke(app, ["launch", str(space), *where, *more])
    assert resumed.exit_code == 0, resumed.output
    (new,) = [t for t in trials("logged", url) if t.number not in found]
    board = tensorboard_run(runs / "logged" / "tensorboard" / f"trial-{new.number:04d}")
    assert len(board.Scalars("val_accuracy")) == 2
    assert sorted(mlflow_runs(uri, "logged")) == sorted(found)


class Broken(BaseRunLogger):
    """A logger whose library fails at the first epoch."""

    name = "broken"
    module = "json"
    package = "json"

    def check_location(self) -> None:
        pass

    def location(self) -> str:
        return "nowhere"

    def start(self, trial: LoggedTrial) -> None:
        pass

    def epoch(self, number: int, epoch: int, metrics: Mapping[str, float]) -> None:
        raise OSError("disk full")

    def finish(self, number: int, end: TrialEnd) -> None:
        raise AssertionError("a logger switched off hears nothing more")

    def close(self) -> None:
        pass


class Notices(LaunchObserver):
    def __init__(self) -> None:
        self.notices: list[str] = []

    def notice(self, text: str) -> None:
        self.notices.append(text)


@pytest.mark.slow
def test_a_logger_that_fails_is_switched_off_with_a_notice_and_the_study_completes(
    ray_local: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._LOGGERS, "broken", f"{__name__}:Broken")
    url = f"sqlite:///{tmp_path / 'b.db'}"
    space = write_space(tmp_path / "s.yaml", num_samples=1, log=["broken", "tensorboard"])
    watch = Notices()
    result = launch(space, study="b", url=url, runs_dir=tmp_path / "runs", observer=watch)
    assert result.status == "completed"
    assert [t.status.value for t in trials("b", url)] == ["completed"]
    assert watch.notices == [
        "log: broken stopped writing to nowhere (OSError: disk full); the study goes on without it."
    ]
    # The other logger went on.
    board = tensorboard_run(tmp_path / "runs" / "b" / "tensorboard" / "trial-0000")
    assert [s.step for s in board.Scalars("val_accuracy")] == [1, 2]


@pytest.mark.parametrize(
    ("name", "module"), [("mlflow", "mlflow"), ("tensorboard", "tensorboardX")]
)
def test_a_logger_whose_package_is_missing_names_the_extra_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    db = tmp_path / "x.db"
    space = write_space(tmp_path / "s.yaml")
    result = CliRunner().invoke(
        app, ["launch", str(space), "--db", f"sqlite:///{db}", "--log", name, "--quiet"]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"error: log: {name} needs the Python package "
        f"{get_run_logger(name).package!r}, which is not installed; install it with pip "
        "install 'afsearch[logging]'."
    ]
    assert not db.exists()


def test_an_unknown_log_flag_is_one_sentence(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    space = str(write_space(tmp_path / "s.yaml"))
    result = CliRunner().invoke(app, ["launch", space, "--db", f"sqlite:///{db}", "--log", "wandb"])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --log must be 'mlflow' or 'tensorboard', got 'wandb'.")
    assert not db.exists()


def test_loggers_refuse_a_runs_directory_they_cannot_write_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(AfsearchError, match="set MLFLOW_TRACKING_URI to an MLflow server"):
        get_run_logger("mlflow")("s3://bucket/runs/s", "s").check()
    with pytest.raises(AfsearchError, match="tensorboard writes its event files on this"):
        get_run_logger("tensorboard")("s3://bucket/runs/s", "s").check()
    # MLflow's own variable names where the runs go instead.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    logger = get_run_logger("mlflow")("s3://bucket/runs/s", "s")
    logger.check()
    assert logger.location() == "http://mlflow.example:5000"
