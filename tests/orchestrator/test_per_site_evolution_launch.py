"""A real per-site evolution on local Ray, launched from the command line with a confirm stage:
one candidate per site in every trial, repeats skipped, children one site away from a parent,
the confirmation trains per-site candidates, show and export take the confirmed best, and a
resume evolves from the stored population."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.confirm import train_seed
from afsearch.expr import SiteCandidates
from afsearch.orchestrator import launch
from afsearch.results import trial_candidate
from afsearch.store import (
    TrialRecord,
    TrialStore,
    confirm_runs,
    confirmation,
    get_study,
    study_best,
    trials,
)
from afsearch.trial import TrialSpec

SITES = 2  # digits-mlp at depth 2: two hidden layers, one activation after each
POPULATION = 3

SPACE = {
    "task": {
        "name": "digits-mlp",
        "epochs": 1,
        "batch_size": 64,
        "lr": 0.01,
        "options": {"width": 8, "depth": SITES},
    },
    "per_site": True,
    "sampler": "evolution",
    "sampler_options": {"population": POPULATION, "tournament": 2, "fresh": 0.0},
    "scheduler": "none",
    "num_samples": 7,
    "max_concurrent": 2,
    # Swish with beta 1 is SiLU: the second is the first function at every site, a repeat.
    "enqueue": ["silu", {"family": "swish", "beta": 1.0}],
    "families": [
        {"family": "standard", "name": ["relu", "tanh", "gelu", "silu"]},
        {"family": "swish", "beta": {"low": 0.5, "high": 2.0}, "trainable": True},
    ],
    "confirm": {"top": 2, "seeds": 2, "against": ["relu"]},
}


def sites_of(t: TrialRecord) -> list[Mapping[str, Any]]:
    activation = (t.config or {})["activation"]
    assert activation["family"] == "per_site", activation
    return list(activation["sites"])


def one_site_away(child: TrialRecord, rows: list[TrialRecord]) -> bool:
    """Whether an earlier trial of ``rows`` differs from ``child`` at exactly one site."""
    mine = sites_of(child)
    return any(
        sum(a != b for a, b in zip(mine, sites_of(t), strict=True)) == 1
        for t in rows
        if t.number < child.number
    )


@pytest.fixture(scope="module")
def evolved(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    tmp = tmp_path_factory.mktemp("per_site_evolution")
    space = tmp / "sites.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    url = f"sqlite:///{tmp / 'sites.db'}"
    args = ["launch", str(space), "--study", "pse", "--db", url, "--runs-dir", str(tmp / "runs")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "confirming #" in result.output and "against relu on 2 fresh seeds" in result.output
    assert "study pse: completed, " in result.output
    return url, space


@pytest.mark.slow
def test_every_trial_trains_one_candidate_per_site(evolved: tuple[str, Path]) -> None:
    url, _ = evolved
    rows = trials("pse", url)
    assert len(rows) == SPACE["num_samples"]
    assert all(t.status.value == "completed" for t in rows), [(t.number, t.error) for t in rows]
    for t in rows:
        assert len(sites_of(t)) == SITES
        assert t.activation is not None and t.activation.family == "per_site"
        candidate = trial_candidate(t)
        assert isinstance(candidate, SiteCandidates) and len(candidate.sites) == SITES
    # The enqueued SiLU stands at every site.
    first = min(rows, key=lambda t: t.number)
    assert sites_of(first) == [{"family": "standard", "name": "silu"}] * SITES


@pytest.mark.slow
def test_a_repeated_per_site_function_is_skipped(evolved: tuple[str, Path]) -> None:
    url, _ = evolved
    rows = trials("pse", url)
    assert len({t.activation_id for t in rows}) == len({t.dedup_key for t in rows}) == len(rows)
    # The enqueued Swish(beta=1) at every site was SiLU at every site: never trained.
    assert not any(
        s.get("family") == "swish" and s.get("beta") == 1.0 for t in rows for s in sites_of(t)
    )
    assert get_study("pse", url).duplicates_avoided >= 1


@pytest.mark.slow
def test_children_differ_from_a_parent_at_one_site(evolved: tuple[str, Path]) -> None:
    url, _ = evolved
    rows = sorted(trials("pse", url), key=lambda t: t.number)
    # After the population is drawn (fresh: 0), every proposal is a tournament's child.
    children = [t for t in rows if t.number >= POPULATION]
    assert len(children) >= 3
    assert all(one_site_away(t, rows) for t in children), [sites_of(t) for t in rows]


@pytest.mark.slow
def test_the_confirmation_trains_the_per_site_candidates(evolved: tuple[str, Path]) -> None:
    url, _ = evolved
    runs = confirm_runs("pse", url)
    assert sorted((r.kind, r.seed) for r in runs) == sorted(
        [("candidate", s) for s in (10_000, 10_001)] * 2
        + [("baseline", s) for s in (10_000, 10_001)]
    )
    verdicts = confirmation("pse", url)
    candidates = [v for v in verdicts if v.kind == "candidate"]
    assert len(candidates) == 2 and {v.rank for v in candidates} == {1, 2}
    assert all(v.verdict in ("better", "worse", "tie") and v.baseline == "relu" for v in candidates)
    # A confirm run trained the trial's activation at each site: the same training here on
    # that seed gives the stored value.
    run = next(r for r in runs if r.kind == "candidate")
    source = next(t for t in trials("pse", url) if t.id == run.trial_id)
    spec = TrialSpec.from_dict(source.config or {})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the worker trained it
    try:
        again = train_seed(spec.activation, "digits-mlp", run.seed, settings=spec.settings)
    finally:
        torch.set_num_threads(threads)
    # Judged on the test split.
    assert again.metrics["test_accuracy"] == pytest.approx(run.metric_value)


@pytest.mark.slow
def test_show_and_export_take_the_confirmed_per_site_best(
    evolved: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = evolved
    best = study_best("pse", url)
    assert best is not None
    (rank_one,) = [v for v in confirmation("pse", url) if v.kind == "candidate" and v.is_best]
    assert best.id == rank_one.trial_id
    assert isinstance(trial_candidate(best), SiteCandidates)
    runner = CliRunner()
    shown = runner.invoke(app, ["show", f"pse/{best.number}", "--db", url])
    assert shown.exit_code == 0, shown.output
    assert "  site 0: " in shown.output and "  site 1: " in shown.output
    assert "(the study's confirmed best)" in shown.output
    plotted = runner.invoke(
        app, ["show", f"pse/{best.number}", "--db", url, "--plot", str(tmp_path / "best.png")]
    )
    assert plotted.exit_code == 0, plotted.output
    assert (tmp_path / "best.png").stat().st_size > 0
    board = runner.invoke(app, ["trials", "--db", url, "--top", "1"])
    assert board.exit_code == 0 and f"#{best.number} " in board.output and "sites[" in board.output
    out = tmp_path / "out"
    exported = runner.invoke(
        app, ["export", "--study", "pse", "--best", "--db", url, "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    modules = sorted(p.name for p in out.glob("*.py"))
    assert modules == [f"PseTrial{best.number}Site{k}.py" for k in range(SITES)]
    # Each site's module is torch alone and computes that site's candidate.
    x = torch.linspace(-3, 3, 11)
    candidate = trial_candidate(best)
    assert isinstance(candidate, SiteCandidates)
    for k, site in enumerate(candidate.sites):
        path = out / modules[k]
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        value = getattr(module, path.stem)()(x)
        from afsearch.compiler import CompiledActivation

        assert torch.allclose(value, CompiledActivation(site)(x), atol=1e-6)


@pytest.mark.slow
def test_a_resume_evolves_from_the_stored_population(evolved: tuple[str, Path]) -> None:
    url, space = evolved
    rows = sorted(trials("pse", url), key=lambda t: t.number)
    before = {t.id for t in rows}
    # A child the driver was training when it died: left running in the database.
    cut = rows[-1]
    with TrialStore(url) as store:
        store.start_trial("pse", tune_trial_id=cut.tune_trial_id)
    result = launch(
        space,
        study="pse",
        url=url,
        runs_dir=Path(space).parent / "runs",
        resume=True,
        num_samples=10,
    )
    assert result.status == "completed"
    rows = sorted(trials("pse", url), key=lambda t: t.number)
    assert len(rows) == 10 and all(t.status.value == "completed" for t in rows)
    # The cut trial ran again under its number with its own activation, not a new proposal.
    again = next(t for t in rows if t.id == cut.id)
    assert again.number == cut.number and sites_of(again) == sites_of(cut)
    assert again.activation_id == cut.activation_id
    # Its parents are the stored trials: each new one is a child, one site away.
    new = [t for t in rows if t.id not in before]
    assert len(new) == 3
    assert all(len(sites_of(t)) == SITES and one_site_away(t, rows) for t in new)
    assert len({t.dedup_key for t in rows}) == len(rows)
    # The confirmation runs again on the new top two; the relu runs are stored already.
    assert result.confirmation is not None and result.confirmation.reused >= 2


def test_prescreen_with_per_site_is_refused_before_ray_starts(tmp_path: Path) -> None:
    space = tmp_path / "s.yaml"
    space.write_text(yaml.safe_dump({**SPACE, "prescreen": {"pool": 32}}))
    url = f"sqlite:///{tmp_path / 'p.db'}"
    result = CliRunner().invoke(app, ["launch", str(space), "--db", url])
    assert result.exit_code == 2
    assert "prescreen scores one activation for the whole network" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "p.db").exists()
