"""The budget counts distinct functions: known proposals get no trial, are told to Optuna with
the original's result, and a space that runs out of new functions ends the study."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

from afsearch.orchestrator import launch
from afsearch.store import get_study, studies, trials
from afsearch.trial.attrs import REPEATS

pytestmark = pytest.mark.slow


def _space(path: Path, names: list[str], num_samples: int) -> Path:
    data = {
        "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 8}},
        "sampler": "random",
        "scheduler": "none",
        "num_samples": num_samples,
        "max_concurrent": 2,
        "families": [{"family": "standard", "name": names}],
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_space_with_fewer_functions_than_samples_trains_each_once(
    ray_local, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    space = _space(tmp_path / "s.yaml", ["relu", "tanh"], num_samples=6)
    result = launch(space, study="two", url=url, runs_dir=tmp_path / "runs")
    rows = trials("two", url)
    assert sorted(t.config["activation"]["name"] for t in rows) == ["relu", "tanh"]
    assert {t.status.value for t in rows} == {"completed"}
    assert result.status == "completed" and result.stop_reason
    assert "exhausted" in result.stop_reason and "2 distinct functions" in result.stop_reason
    record = get_study("two", url)
    assert record.stop_reason == result.stop_reason and record.duplicates_avoided >= 50
    (summary,) = studies(url)
    assert (summary.n_distinct, summary.n_trials) == (2, 2)
    # Optuna heard of every proposal, and each repeat carries the original's value.
    ot = optuna.load_study(study_name="afsearch:two", storage=url)
    by_number = {t.number: t.metric_value for t in rows}
    states = {t.state for t in ot.trials}
    assert optuna.trial.TrialState.RUNNING not in states, states
    repeats = [t for t in ot.trials if REPEATS in t.user_attrs]
    waited = [t for t in ot.trials if REPEATS not in t.user_attrs][2:]
    assert len(repeats) + len(waited) == record.duplicates_avoided
    for t in repeats:
        # The original is named by its trial number, as afsearch and optuna-dashboard show it.
        assert t.value == pytest.approx(by_number[t.user_attrs[REPEATS]])
    # Proposals made while their function was training were told its value when it ended.
    values = set(by_number.values())
    assert all(t.value in values for t in waited)


def test_a_resumed_exhausted_study_has_nothing_left_to_run(ray_local, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    space = _space(tmp_path / "s.yaml", ["relu"], num_samples=3)
    first = launch(space, study="one", url=url, runs_dir=tmp_path / "runs")
    assert first.stop_reason and len(trials("one", url)) == 1
    again = launch(space, study="one", url=url, runs_dir=tmp_path / "runs", resume=True)
    assert again.status == "completed" and again.num_trials == 0
    assert len(trials("one", url)) == 1
