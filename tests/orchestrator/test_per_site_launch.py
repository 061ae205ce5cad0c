"""A real launch with per_site: each trial trains its own candidate at each site, and the
stored trials come back through show, export and trial_candidate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.expr import SiteCandidates
from afsearch.orchestrator import launch
from afsearch.results import export_trial, trial_candidate
from afsearch.space import load_space
from afsearch.store import trials

pytestmark = pytest.mark.slow


def test_a_per_site_launch_stores_one_candidate_per_site(tmp_path: Path) -> None:
    space = {
        "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 8, "depth": 2}},
        "per_site": True,
        "sampler": "random",
        "scheduler": "none",
        "num_samples": 3,
        "max_concurrent": 2,
        "enqueue": ["tanh", {"family": "swish", "trainable": True, "per_channel": True}],
        "families": [
            {"family": "swish", "beta": {"low": 0.5, "high": 2.0}, "trainable": True},
            {"family": "standard", "name": ["relu", "gelu"]},
        ],
    }
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    url = f"sqlite:///{tmp_path / 'sites.db'}"
    launch(load_space(path), study="sites", url=url, runs_dir=tmp_path / "runs", num_cpus=2)
    rows = sorted(trials("sites", url), key=lambda t: t.number)
    done = [t for t in rows if t.status.value == "completed"]
    assert len(done) == 3, [(t.number, t.status, t.error) for t in rows]
    for t in done:
        assert t.activation is not None and t.activation.family == "per_site"
        assert len(t.config["activation"]["sites"]) == 2
        assert isinstance(trial_candidate(t), SiteCandidates)
    tanh = done[0]
    assert tanh.activation is not None and tanh.activation.expression == "tanh(x); tanh(x)"
    # The enqueued per-channel Swish: a beta per site and per channel of each site.
    swish = done[1]
    assert len(swish.learned_params["per_channel"]["site0.beta"][0]) == 8
    assert set(swish.learned_params["mean"]) == {"site0.beta", "site1.beta"}
    candidate = trial_candidate(swish)
    assert isinstance(candidate, SiteCandidates) and all(c.per_channel for c in candidate.sites)
    runner = CliRunner()
    shown = runner.invoke(app, ["show", "sites/1", "--db", url])
    assert shown.exit_code == 0, shown.output
    assert "  site 0: x*sigmoid(beta*x)" in shown.output
    assert "site1.beta per channel (1 sites x 8 channels)" in shown.output
    exported = export_trial("sites/1", url, out_dir=tmp_path / "out")
    assert [p.name for p in exported.site_modules] == ["SitesTrial1Site0.py", "SitesTrial1Site1.py"]
    index = json.loads(exported.json_path.read_text())
    assert [s["class"] for s in index["sites"]] == ["SitesTrial1Site0", "SitesTrial1Site1"]
