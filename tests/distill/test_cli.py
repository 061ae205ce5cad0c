"""``afsearch distill`` end to end on studies launched with Ray: rational units on
teacher-student (one activation at two sites, and a per-site study), their stored input ranges,
the front per site, --plot, --json, --retrain, and a sentence for each bad input."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.orchestrator import launch
from afsearch.space import load_space
from afsearch.store import TrialStore, trial, trials
from afsearch.trial.inputs import LEVELS, input_quantiles

pytestmark = pytest.mark.slow

TASK = {
    "name": "teacher-student",
    "epochs": 2,
    "options": {"teacher_activation": "tanh", "depth": 2, "hidden": 16, "n_train": 512},
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Study pau: #0 a rational, #1 ReLU. Study sites (per site): #0 a rational at both
    sites, #1 tanh at both. Plus pau/2, a rational that failed and stored nothing."""
    root = tmp_path_factory.mktemp("distill")
    url = f"sqlite:///{root / 'd.db'}"
    studies = {
        "pau": {"enqueue": [{"family": "rational"}, {"family": "standard", "name": "relu"}]},
        "sites": {"per_site": True, "enqueue": [{"family": "rational"}, "tanh"]},
    }
    for name, extra in studies.items():
        space = {
            "task": TASK,
            "sampler": "random",
            "scheduler": "none",
            "num_samples": 2,
            "max_concurrent": 2,
            "families": [{"family": "rational"}],
            **extra,
        }
        path = root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(space))
        launch(load_space(path), study=name, url=url, runs_dir=root / "runs", num_cpus=2)
    done = trial("pau/0", url)
    with TrialStore(url) as store:
        failed = store.start_trial(
            "pau",
            tune_trial_id="failed-by-test",
            config=done.config,
            activation_id=done.activation_id,
        )
        store.finish_trial(failed, status="failed", error="the worker died")
    return url


def run(db: str, *args: str) -> tuple[int, str]:
    """The exit code, and stdout (stderr with it unless --json: torch may warn there)."""
    result = CliRunner().invoke(app, ["distill", *args, "--db", db])
    return result.exit_code, result.stdout if "--json" in args else result.output


def test_the_trials_stored_plausible_input_ranges(db: str) -> None:
    for study, sites in (("pau", 2), ("sites", 2)):
        for t in trials(study, db):
            if t.status.value != "completed":
                continue
            stored = input_quantiles(t.learned_params)
            assert stored is not None, (study, t.number, t.learned_params)
            levels, quantiles = stored
            assert levels == list(LEVELS) and len(quantiles) == sites
            for q in quantiles:
                assert q == sorted(q) and q[0] < q[-1]
                # Pre-activations of a small MLP on standard normal inputs.
                assert -50 < q[0] < q[4] < q[-1] < 50


def test_a_trial_distills_each_site_with_a_front(db: str, tmp_path: Path) -> None:
    plot = tmp_path / "front.png"
    code, output = run(db, "pau/0", "--plot", str(plot))
    assert code == 0, output
    assert "pau/0 site 0 (of 2)" in output and "pau/0 site 1 (of 2)" in output
    assert "weighted by their density" in output
    assert f"wrote {plot}" in output
    data = plot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24])[0] > 1000  # two panels side by side
    code, output = run(db, "pau/0", "--site", "1", "--json", "--max-nodes", "5", "--top", "3")
    assert code == 0, output
    (site,) = json.loads(output)["sites"]
    assert site["site"] == 1 and site["seen"][0] < site["seen"][1]
    formulas = site["formulas"]
    assert 1 <= len(formulas) <= 3 and all(f["nodes"] <= 5 for f in formulas)
    assert max(f["r2"] for f in formulas) > 0.99
    assert [f["nodes"] for f in formulas] == sorted(f["nodes"] for f in formulas)
    # A formula is an expression export-expr takes.
    runner = CliRunner()
    text = formulas[-1]["formula"]
    exported = runner.invoke(app, ["export-expr", "--out", str(tmp_path), "--", text])
    assert exported.exit_code == 0, exported.output


def test_a_per_site_trial_distills_its_learned_sites(db: str) -> None:
    code, output = run(db, "sites/0", "--json", "--max-nodes", "3")
    assert code == 0, output
    sites = json.loads(output)["sites"]
    assert [s["site"] for s in sites] == [0, 1]
    assert all(max(f["r2"] for f in s["formulas"]) > 0.99 for s in sites)


def test_retrain_compares_the_formulas_with_the_learned_activation(db: str) -> None:
    code, output = run(
        db, "pau/0", "--site", "0", "--max-nodes", "3", "--retrain", "2", "--retrain-top", "1",
        "--against", "relu", "--json",
    )  # fmt: skip
    assert code == 0, output
    retrain = json.loads(output)["retrain"]
    assert retrain["task"] == "teacher-student" and len(retrain["seeds"]) == 2
    names = [r["name"] for r in retrain["rows"]]
    assert names == ["formula 1", "learned", "relu"], output
    formula = retrain["rows"][0]
    # Two runs each; a run that diverged is counted, not averaged.
    assert all(r["n"] + r["diverged"] == 2 for r in retrain["rows"]), output
    assert formula["vs_learned"]["verdict"] in ("better", "worse", "tie"), output
    assert formula["vs_baseline"]["baseline"] == "relu", output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pau/1"], "Trial pau/1 trained Max(0, x), which has no learned parameters"),
        (["pau/0", "--site", "2"], "site is 2, but trial pau/0 has 2 activation sites"),
        (["pau/2"], "Trial pau/2 stored no learned values (its status is failed: the worker"),
        (["pau/7"], "Study 'pau' has no trial number 7"),
        (["sites/1"], "Trial sites/1 trained tanh(x), which has no learned parameters"),
        (["pau/0", "--max-nodes", "0"], "max_nodes must be an integer of at least 1, got 0."),
        (["pau/0", "--retrain", "1"], "retrain needs at least 2 seeds"),
        (["pau/0", "--retrain", "2", "--against", "wobble"], "against names 'wobble'"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(db: str, args: list[str], message: str) -> None:
    code, output = run(db, *args)
    assert code == 2, output
    assert message in output and "Traceback" not in output
