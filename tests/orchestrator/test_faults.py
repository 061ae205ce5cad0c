"""Faults inside trials: each is recorded with its reason while the study goes on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from afsearch.orchestrator import launch
from afsearch.store import epochs, trials
from tests.ray_fixtures import init_local_ray

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import ray

    markers = tmp_path_factory.mktemp("markers")
    # Workers inherit the environment Ray starts with: they must import tests.orchestrator.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    os.environ["AFSEARCH_FAULTY_DIR"] = str(markers)
    init_local_ray()
    yield markers
    ray.shutdown()


def test_each_fault_is_recorded_and_the_study_completes(ray_faulty: Path, tmp_path: Path):
    space = tmp_path / "s.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "tests.orchestrator.faulty:FaultyTask", "epochs": 8},
                "sampler": "grid",
                "scheduler": "none",
                "num_samples": 7,
                "max_concurrent": 2,
                "max_failures": 1,
                "checkpoint_min_seconds": 0,
                "trial_timeout_s": 3.0,
                "families": [
                    {
                        "family": "expression",
                        "expression": [
                            *("x", "100*x", "200*x", "300*x", "400*x", "500*x"),
                            "x*1e30*exp(30*x)",
                        ],
                    }
                ],
            }
        )
    )
    url = f"sqlite:///{tmp_path / 'f.db'}"
    result = launch(space, study="faults", url=url, runs_dir=tmp_path / "runs")
    assert result.num_trials == 7
    rows = {t.config["expression"]: t for t in trials("faults", url)}
    assert len(rows) == 7

    assert rows["x"].status.value == "completed", rows["x"].error
    raised = rows["100*x"]
    assert raised.status.value == "failed"
    assert "raises inside training" in (raised.error or "")
    slow = rows["200*x"]
    assert slow.status.value == "failed" and "time limit" in (slow.error or "")
    # Killed once, retried (max_failures=1), then finished.
    assert rows["300*x"].status.value == "completed", rows["300*x"].error
    assert (ray_faulty / "killed-300").exists()
    # Killed in epoch 5, retried from its epoch-4 checkpoint: epochs 1-4 ran once.
    cut = rows["500*x"]
    assert cut.status.value == "completed", cut.error
    assert (ray_faulty / "killed-500").exists()
    resumed = {e.epoch: e.metrics["resumed_at"] for e in epochs(cut.id, url)}
    assert resumed == {e: 0 if e <= 4 else 4 for e in range(1, 9)}
    always = rows["400*x"]
    assert always.status.value == "failed" and always.error
    diverged = rows["1e+30*x*exp(30*x)"]
    assert diverged.status.value == "diverged"
