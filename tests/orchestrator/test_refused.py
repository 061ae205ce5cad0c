"""A candidate the task refuses (ReLU on a PINN) is not trained: its trial is stored as failed
with the task's sentence, and the study goes on with the others."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from afsearch.orchestrator import launch
from afsearch.space import load_space
from afsearch.store import trials

pytestmark = pytest.mark.slow


def test_a_kinked_candidate_on_a_pinn_is_stored_as_refused(tmp_path: Path) -> None:
    space = {
        "task": {
            "name": "pinn-poisson",
            "epochs": 1,
            "options": {"width": 8, "depth": 2, "n_interior": 32, "steps_per_epoch": 2},
        },
        "sampler": "random",
        "scheduler": "none",
        "num_samples": 2,
        "max_concurrent": 1,
        "enqueue": ["relu", "tanh"],
        "families": [{"family": "standard", "name": ["relu", "tanh"]}],
    }
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    url = f"sqlite:///{tmp_path / 'refused.db'}"
    launch(load_space(path), study="pinn", url=url, runs_dir=tmp_path / "runs", num_cpus=2)
    rows = {row.activation.expression: row for row in trials("pinn", url) if row.activation}
    relu = next(row for text, row in rows.items() if "Max" in text)
    tanh = next(row for text, row in rows.items() if "tanh" in text)
    assert relu.status.value == "failed"
    assert relu.error is not None and "not smooth enough" in relu.error
    assert "'pinn-poisson' takes 2 derivatives" in relu.error and "\n" not in relu.error
    assert tanh.status.value == "completed" and tanh.metric_value is not None
