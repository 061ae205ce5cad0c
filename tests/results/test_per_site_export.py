"""A stored per-site trial: its candidate, its export (one module per site), rerun and show."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from afsearch.activations import build_activation, per_site_config
from afsearch.cli import app
from afsearch.compiler import CompiledActivation
from afsearch.expr import SiteCandidates
from afsearch.results import export_trial, rerun, trial_candidate
from afsearch.store import TrialStore, trial
from afsearch.tasks import TaskSettings
from tests.helpers import add_finished_trial, create_digits_study

CONFIG = per_site_config(
    [
        {"family": "swish", "beta": 1.5, "trainable": True},
        {"family": "standard", "name": "gelu"},
        {"family": "prelu", "a": 0.1, "trainable": True},
    ]
)
LEARNED = {
    "mean": {"site0.beta": 1.25, "site2.a": 0.3},
    "per_site": {"site0.beta": [1.25], "site2.a": [0.3]},
}
SETTINGS = TaskSettings(epochs=1, batch_size=64, options={"width": 8, "depth": 3})


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ps.db'}"
    with TrialStore(url) as store:
        create_digits_study(store, "ps", sampler="random")
        add_finished_trial(
            store, "ps", CONFIG, value=0.5, settings=SETTINGS, learned_params=LEARNED
        )
    return url


def test_trial_candidate_gives_each_site_its_learned_values(url: str) -> None:
    candidate = trial_candidate(trial("ps/0", url))
    assert isinstance(candidate, SiteCandidates) and len(candidate.sites) == 3
    assert candidate.sites[0].params["beta"].value == 1.25
    assert candidate.sites[2].params["a"].value == pytest.approx(0.3)
    assert candidate.sites[1].text == build_activation(CONFIG).sites[1].text  # type: ignore[union-attr]
    initial = trial_candidate(trial("ps/0", url), learned=False)
    assert isinstance(initial, SiteCandidates) and initial.sites[0].params["beta"].value == 1.5


def test_export_writes_one_module_per_site_that_computes_the_site(url: str, tmp_path: Path) -> None:
    exported = export_trial("ps/0", url, out_dir=tmp_path / "out", name="Net")
    assert [p.name for p in exported.site_modules] == ["NetSite0.py", "NetSite1.py", "NetSite2.py"]
    candidate = trial_candidate(trial("ps/0", url))
    assert isinstance(candidate, SiteCandidates)
    x = torch.linspace(-3, 3, 31, dtype=torch.float64)
    for k, path in enumerate(exported.site_modules):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        act = getattr(module, path.stem)().double()
        expected = CompiledActivation(candidate.sites[k], dtype=torch.float64)(x)
        torch.testing.assert_close(act(x), expected)
        assert json.loads(path.with_suffix(".json").read_text())["site"] == k
    index = json.loads(exported.json_path.read_text())
    assert index["per_site"] is True and len(index["sites"]) == 3


def test_rerun_trains_the_sites_on_fresh_seeds(url: str) -> None:
    runs = rerun(
        trial_candidate(trial("ps/0", url), False), "digits-mlp", seeds=[7], settings=SETTINGS
    )
    assert len(runs) == 1 and runs[0].metric is not None


def test_show_and_export_print_each_site(url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["show", "ps/0", "--db", url])
    assert shown.exit_code == 0, shown.output
    lines = [ln for ln in shown.output.splitlines() if ln.startswith("  site ")]
    assert lines[0] == "  site 0: x*sigmoid(beta*x)" and len(lines) == 3
    out = runner.invoke(app, ["export", "ps/0", "--db", url, "--out", str(tmp_path / "e")])
    assert out.exit_code == 0, out.output
    assert "one module per activation site" in out.output and "Ps" in out.output
