"""A per-channel trial: stored vectors, its candidate, its export, show."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from afsearch.activations import build
from afsearch.cli import app
from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError
from afsearch.results import (
    channel_summary,
    export_activation,
    export_trial,
    trial_candidate,
    trial_channel_values,
)
from afsearch.store import TrialStore, trial
from tests.helpers import add_finished_trial, create_digits_study

CONFIG = {"family": "rational", "trainable": True, "per_channel": True}


def _trained_sites() -> list[CompiledActivation]:
    """Two sites of 3 and 5 channels with values spread as training would leave them."""
    candidate = build(CONFIG)
    sites = [CompiledActivation(candidate, torch.float64, channels=c) for c in (3, 5)]
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for site in sites:
            for p in site.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return sites


def _learned(sites: list[CompiledActivation]) -> dict:
    from afsearch.orchestrator._trainable import _learned as learned

    return learned(sites)


def _store(url: str, sites: list[CompiledActivation]) -> int:
    with TrialStore(url) as store:
        create_digits_study(store, "pc")
        _, tid = add_finished_trial(store, "pc", CONFIG, value=0.5, learned_params=_learned(sites))
    return tid


def _load(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.fixture
def stored(tmp_path: Path) -> tuple[str, list[CompiledActivation]]:
    url = f"sqlite:///{tmp_path / 'pc.db'}"
    sites = _trained_sites()
    _store(url, sites)
    return url, sites


def test_the_store_keeps_each_sites_vector(stored) -> None:
    url, sites = stored
    t = trial("pc/0", url)
    assert t.learned_params["per_channel"]["a0"][1] == pytest.approx(
        sites[1].channel_values()["a0"]
    )
    values = trial_channel_values(t)
    assert [len(v["a0"]) for v in values] == [3, 5]
    summary = channel_summary(t.learned_params)["a0"]
    flat = sites[0].channel_values()["a0"] + sites[1].channel_values()["a0"]
    assert summary["sites"] == 2 and summary["channels"] == 3
    assert summary["mean"] == pytest.approx(sum(flat) / 8)
    assert summary["max"] == pytest.approx(max(flat))


def test_the_trial_candidate_is_per_channel_at_the_mean_values(stored) -> None:
    url, sites = stored
    candidate = trial_candidate(trial("pc/0", url))
    assert candidate.per_channel
    mean = (sum(sites[0].channel_values()["a1"]) / 3 + sum(sites[1].channel_values()["a1"]) / 5) / 2
    assert candidate.params["a1"].value == pytest.approx(mean)


def test_the_exported_module_reproduces_each_site(stored, tmp_path: Path) -> None:
    url, sites = stored
    exported = export_trial("pc/0", url, out_dir=tmp_path / "out", name="PerChannel")
    cls = _load(exported.module_path, "PerChannel")
    for k, site in enumerate(sites):
        module = cls(site=k).double()
        x = torch.randn(4, site.channels, 6, dtype=torch.float64, requires_grad=True)
        y = module(x)
        torch.testing.assert_close(y, site(x))
        (y * x.cos()).sum().backward()
        grad_exported = x.grad.clone()
        x.grad = None
        (site(x) * x.cos()).sum().backward()
        torch.testing.assert_close(grad_exported, x.grad)
        # The state dict of the trial's module loads into the exported one.
        fresh = cls(channels=site.channels).double()
        fresh.load_state_dict(site.state_dict())
        torch.testing.assert_close(fresh(x), site(x))
    document = json.loads(exported.json_path.read_text())
    assert document["per_channel"] is True
    assert len(document["learned_params"]["per_channel"]["a0"]) == 2
    with pytest.raises(ValueError, match="0 to 1, got 2"):
        cls(site=2)
    assert cls(channels=7).p_a0.shape == (7,) and cls().p_a0.shape == ()


def test_per_site_values_for_a_shared_activation_are_refused(tmp_path: Path) -> None:
    swish = build({"family": "swish", "trainable": True})
    with pytest.raises(AfsearchError, match="not per-channel"):
        export_activation(swish.expr, swish.params, "S", tmp_path, sites=[{"beta": [1.0]}])
    per_channel = build({"family": "swish", "trainable": True, "per_channel": True})
    with pytest.raises(AfsearchError, match="Site 0 .* no values of 'beta'"):
        export_activation(
            per_channel.expr, per_channel.params, "S", tmp_path, per_channel=True, sites=[{}]
        )


def test_show_prints_a_summary_and_json_the_vectors(stored) -> None:
    url, _ = stored
    runner = CliRunner()
    result = runner.invoke(app, ["show", "pc/0", "--db", url])
    assert result.exit_code == 0, result.output
    assert "a0 per channel (2 sites x 3 channels): mean" in result.output
    result = runner.invoke(app, ["show", "pc/0", "--db", url, "--json"])
    data = json.loads(result.output)
    assert len(data["learned_params"]["per_channel"]["b1"][1]) == 5
