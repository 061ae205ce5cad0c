"""Launching real searches on local Ray with a real SQLite database."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import yaml

from afsearch.orchestrator import launch
from afsearch.results import export_trial
from afsearch.store import epochs, get_study, studies, trials, trials_frame

pytestmark = pytest.mark.slow


def write_space(path: Path, **overrides: object) -> Path:
    data: dict = {
        "task": {
            "name": "digits-mlp",
            "epochs": 2,
            "batch_size": 128,
            "options": {"width": 16, "depth": 1},
        },
        "scheduler": "none",
        "num_samples": 3,
        "max_concurrent": 2,
        "families": [
            {"family": "swish", "beta": {"low": 0.5, "high": 2.0}, "trainable": [True]},
            {"family": "prelu", "a": {"low": 0.0, "high": 0.3}},
        ],
    }
    data.update(overrides)
    path.write_text(yaml.safe_dump(data))
    return path


def test_small_launch_stores_every_trial_and_exports_the_best(ray_local, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    space = write_space(tmp_path / "s.yaml")
    result = launch(space, study="small", url=url, runs_dir=tmp_path / "runs")
    assert result.status == "completed" and result.num_trials == 3
    rows = trials("small", url)
    assert len(rows) == 3
    assert {t.number for t in rows} == {0, 1, 2}
    for t in rows:
        assert t.status.value == "completed", t
        assert t.metric_value is not None and 0.0 <= t.metric_value <= 1.0
        assert t.activation_id and t.activation_id.startswith("af-")
        assert t.node
        assert [e.epoch for e in epochs(t.id, url)] == [1, 2]
        # Trials far shorter than checkpoint_min_seconds (30 s by default) save no state.
        assert t.checkpoint is None and t.checkpoint_epoch is None
    summary = {s.name: s for s in studies(url)}["small"]
    assert summary.status.value == "completed" and summary.n_completed == 3
    swish = [t for t in rows if "sigmoid" in t.config["expression"]]
    for t in swish:
        assert "beta" in t.learned_params["mean"]
    # Optuna's view tells the same story: every epoch an intermediate value, the metric named,
    # the activation in the user attributes.
    import optuna

    ot = optuna.load_study(study_name="afsearch:small", storage=url)
    assert ot.metric_names == ["val_accuracy"]
    by_key = {t.dedup_key: t for t in rows}
    for ot_trial in ot.trials:
        assert sorted(ot_trial.intermediate_values) == [1, 2], ot_trial.intermediate_values
        assert ot_trial.user_attrs["expression"] in {t.config["expression"] for t in rows}
        assert ot_trial.user_attrs["activation_id"].startswith("af-")
    assert {t.metric_value for t in rows} == {ot_trial.value for ot_trial in ot.trials}
    # One number per trial: afsearch's #N is Optuna's trial N.
    by_number = {o.number: o for o in ot.trials}
    for t in rows:
        assert by_number[t.number].user_attrs["activation_id"] == t.activation_id
        assert by_number[t.number].value == pytest.approx(t.metric_value)
    for t in rows:
        if t.learned_params and t.learned_params.get("mean"):
            (match,) = [o for o in ot.trials if o.user_attrs["activation_id"] == t.activation_id]
            assert match.user_attrs["learned"] == pytest.approx(t.learned_params["mean"])
    assert by_key
    # The frame of rows a launch wrote has one learned.<name> column per parameter.
    frame = trials_frame("small", url)
    learned = sorted(c for c in frame.columns if c.startswith("learned."))
    names = {n for t in rows for n in (t.learned_params or {}).get("mean", {})}
    assert learned == sorted(f"learned.{n}" for n in names), learned
    for t in rows:
        row = frame[frame["number"] == t.number].iloc[0]
        for n, value in t.learned_params["mean"].items():
            assert row[f"learned.{n}"] == pytest.approx(value)

    exported = export_trial(None, url, study="small", out_dir=tmp_path / "out")
    spec = importlib.util.spec_from_file_location("best", exported.module_path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    act = getattr(mod, exported.class_name)()
    x = torch.linspace(-2, 2, 9, requires_grad=True)
    act(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_diverging_candidate_is_recorded_as_diverged(ray_local, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    space = write_space(
        tmp_path / "s.yaml",
        num_samples=2,
        families=[
            {"family": "expression", "expression": "x*1e30*exp(30*x)"},
            {"family": "standard", "name": "relu"},
        ],
        sampler="grid",
    )
    result = launch(space, study="div", url=url, runs_dir=tmp_path / "runs")
    assert result.status == "completed"
    by_expr = {t.config["expression"]: t for t in trials("div", url)}
    bad = by_expr["1e+30*x*exp(30*x)"]
    assert bad.status.value == "diverged" and bad.metric_value is None
    assert "NaN or infinite" in (bad.error or "")
    assert by_expr["Max(0, x)"].status.value == "completed"


def test_duplicate_candidate_reuses_the_stored_result(ray_local, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    # Swish with beta=1 and the grammar unit x*sigmoid(x) are one function.
    space = write_space(
        tmp_path / "s.yaml",
        num_samples=2,
        max_concurrent=1,
        sampler="grid",
        families=[{"family": "swish", "beta": [1.0]}, {"family": "standard", "name": ["silu"]}],
    )
    result = launch(space, study="dup", url=url, runs_dir=tmp_path / "runs")
    # The second proposal is the same function: it gets no trial, and the space is spent.
    (original,) = trials("dup", url)
    assert original.status.value == "completed"
    assert get_study("dup", url).duplicates_avoided >= 1
    assert result.status == "completed" and result.stop_reason
    # A second study on the same database replays the stored result once, training nothing.
    launch(space, study="dup2", url=url, runs_dir=tmp_path / "runs")
    (replay,) = trials("dup2", url)
    assert replay.status.value == "duplicate" and replay.duplicate_of == original.id
    assert replay.metric_value == pytest.approx(original.metric_value)
    assert replay.activation_id == original.activation_id
