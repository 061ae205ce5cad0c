"""The CLI on a confirmed study (trials, show, studies, export --best), and rerun's new options:
--top, --task (the transfer check) and --device, its trainings on Ray."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.confirm import judge
from afsearch.store import TrialStore, confirmation
from afsearch.tasks import TaskSettings
from tests.helpers import add_finished_trial, create_digits_study

runner = CliRunner()

SEEDS = [10000, 10001, 10002]
#: The lucky trial tops the search; the steady one wins on fresh seeds.
VALUES = {
    "lucky": [0.90, 0.905, 0.91],
    "steady": [0.95, 0.955, 0.96],
    "relu": [0.92, 0.925, 0.93],
    "tanh": [0.85, 0.86, 0.855],
}


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def assert_one_line_error(result, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert "Traceback" not in text and fragment in text, text


def confirmed_db(path: Path, *, confirm: bool = True) -> str:
    """Study ``s``: trial #0 (a Swish, 0.99 on its seed), trial #1 (a PReLU, 0.95) and, with
    ``confirm``, a confirmation in which #1 beats ReLU and #0 loses to it."""
    url = f"sqlite:///{path}"
    with TrialStore(url) as store:
        create_digits_study(store, "s", sampler="random", num_samples=2)
        ids = {}
        for number, (name, activation, value) in enumerate(
            [
                ("lucky", {"family": "swish", "beta": 1.5}, 0.99),
                ("steady", {"family": "prelu", "a": 0.1}, 0.95),
            ]
        ):
            ids[name] = add_finished_trial(
                store,
                "s",
                activation,
                value=value,
                settings=TaskSettings(epochs=1, batch_size=128, options={"width": 8}),
                number=number,
            )
        if confirm:
            for name, values in VALUES.items():
                kind = "candidate" if name in ids else "baseline"
                arm, tid = ids.get(name, (name, None))
                for seed, value in zip(SEEDS, values, strict=True):
                    store.record_confirm_run(
                        "s", kind=kind, arm=arm, seed=seed, trial_id=tid, metric_value=value
                    )
            verdicts = judge(
                [(ids[n][0], ids[n][1], VALUES[n]) for n in ("lucky", "steady")],
                [(n, VALUES[n]) for n in ("relu", "tanh")],
                "max",
            )
            store.record_verdicts(
                "s",
                verdicts,
                {"top": 2, "seeds": 3, "against": ["relu", "tanh"], "fresh_seeds": SEEDS},
            )
    return url


def test_trials_puts_the_confirmed_best_first_and_shows_the_verdicts(tmp_path: Path) -> None:
    url = confirmed_db(tmp_path / "c.db")
    result = run("trials", "--db", url, "--top", "1")
    assert result.exit_code == 0, result.output
    board = result.output.split("confirmed on")[0]
    assert "#1" in board and "#0" not in board  # the luckiest single seed is not the best
    assert "★" in board and "better" in board
    table = result.output.split("confirmed on 3 fresh seeds")[1]
    assert "the best baseline, relu" in " ".join(table.split())
    for word in ("better", "worse", "baseline", "relu", "tanh", "Holm p", "95% CI"):
        assert word in table
    as_json = json.loads(run("trials", "--db", url, "--json").output)
    assert [t["confirmation"]["verdict"] for t in as_json] == ["worse", "better"]
    # Without a confirmation, the leaderboard is the search's.
    plain = confirmed_db(tmp_path / "p.db", confirm=False)
    out = run("trials", "--db", plain, "--top", "1").output
    assert "#0" in out and "confirmed" not in out


def test_show_gives_the_trials_confirmation(tmp_path: Path) -> None:
    url = confirmed_db(tmp_path / "c.db")
    (steady,) = [v for v in confirmation("s", url) if v.rank == 1]
    text = run("show", "s/1", "--db", url).output
    assert "confirmed on 3 fresh seeds, val split: 0.9550 ± 0.0050 over 3 runs, rank 1" in text
    assert f"vs relu: Δ {steady.delta:+.4g} [{steady.ci_low:+.4g}, {steady.ci_high:+.4g}]" in text
    assert f"Holm p {steady.p_holm:.3g}: better" in text
    as_json = json.loads(run("show", "s/1", "--db", url, "--json").output)
    assert as_json["confirmation"]["p_holm"] == steady.p_holm
    assert as_json["confirmation"]["verdict"] == "better"
    assert "worse" in run("show", "s/0", "--db", url).output
    plain = confirmed_db(tmp_path / "p.db", confirm=False)
    assert json.loads(run("show", "s/1", "--db", plain, "--json").output)["confirmation"] is None


def test_studies_and_export_best_take_the_confirmed_best(tmp_path: Path) -> None:
    url = confirmed_db(tmp_path / "c.db")
    text = run("studies", "--db", url).output
    assert "confirmed best" in text and "#1 0.9550 better" in text
    (row,) = json.loads(run("studies", "--db", url, "--json").output)
    assert (row["confirmed_trial"], row["confirmed_verdict"]) == (1, "better")
    result = run("export", "--best", "--db", url, "--study", "s", "--out", str(tmp_path / "x"))
    assert result.exit_code == 0, result.output
    assert "Trial1" in result.output and "Trial0" not in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--top", "0"), "--top must be at least 1, got 0."),
        (("--top", "3"), "--top is 3, but study 's' has only 2 finished distinct candidates"),
        (("--top", "2", "--study", "s", "s"), "name the study once"),
        (("s/0", "--against", "relu,gleu"), "--against names 'gleu', which is not a standard"),
        (("s/0", "--task", "no-such-task"), "no-such-task"),
        ((), "Name a trial (STUDY/N, or N with --study), or a study with --top."),
        (("s/0", "--split", "train"), "split must be one of 'test' or 'val', got 'train'."),
        (("s/0", "--lr-grid", "0.3,x"), "--lr-grid must be comma-separated numbers"),
        (("s/0", "--lr-grid", "0,1"), "lr_grid holds 0.0; every factor must be a number above 0."),
    ],
)
def test_rerun_bad_input_is_one_sentence(tmp_path: Path, args: tuple[str, ...], fragment: str):
    url = confirmed_db(tmp_path / "c.db", confirm=False)
    assert_one_line_error(run("rerun", *args, "--db", url), fragment)


@pytest.mark.slow
def test_rerun_top_k_on_another_task_runs_on_ray(tmp_path: Path) -> None:
    url = confirmed_db(tmp_path / "c.db", confirm=False)
    result = run(
        "rerun", "s", "--top", "2", "--task", "teacher-student", "--epochs", "1",
        "--seeds", "2", "--against", "relu,tanh", "--device", "cpu", "--db", url, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output[result.output.index("[") :])
    assert [r["name"] for r in rows] == ["s/0", "s/1", "relu", "tanh"]
    for r in rows:
        assert (r["metric"], r["mode"]) == ("val_loss", "min")  # the other task's metric
        assert len(r["values"]) == 2 and all(v > 0 for v in r["values"])
    best = min(rows[2:], key=lambda r: r["mean"])
    for r in rows[:2]:
        assert r["baseline"] == best["name"] and r["verdict"] in ("better", "worse", "tie")
        assert r["p_holm"] >= r["p_vs_baseline"]


def test_a_bad_confirm_in_a_space_is_one_sentence(tmp_path: Path) -> None:
    space = tmp_path / "s.yaml"
    space.write_text(
        "task: digits-mlp\nfamilies: [{family: standard, name: relu}]\n"
        "confirm: {top: 2, seeds: 1, against: [relu]}\n"
    )
    assert_one_line_error(run("validate", str(space)), "seeds of confirm must be an integer")
    space.write_text(
        "task: digits-mlp\nfamilies: [{family: standard, name: relu}]\n"
        "confirm: {against: [relu, swishy]}\n"
    )
    assert_one_line_error(run("validate", str(space)), "names 'swishy', which is not a standard")


def test_launch_prints_a_line_per_confirmation_run() -> None:
    from afsearch.cli._live import confirm_run_line, confirm_started_line
    from afsearch.trial import ConfirmRunFinished, ConfirmStarted

    started = ConfirmStarted((3, 7), ("relu", "tanh"), 5, 16, 20)
    assert confirm_started_line(started) == (
        "confirming #3, #7 against relu, tanh on 5 fresh seeds: 16 trainings, 4 stored"
    )
    done = ConfirmRunFinished("#3", 10001, 0.91234, 2, 16)
    assert confirm_run_line(done, "val_accuracy") == (
        "confirm 2/16  #3 seed 10001  val_accuracy 0.9123"
    )
    diverged = ConfirmRunFinished("relu", 10002, None, 3, 16)
    assert confirm_run_line(diverged, "val_loss").endswith("val_loss diverged")


@pytest.mark.slow
def test_rerun_in_process_trains_here(tmp_path: Path) -> None:
    url = confirmed_db(tmp_path / "c.db", confirm=False)
    result = run(
        "rerun", "s/1", "--in-process", "--seeds", "2", "--against", "relu", "--db", url, "--json"
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output[result.output.index("[") :])
    assert [r["name"] for r in rows] == ["s/1", "relu"]
    assert all(len(r["values"]) == 2 for r in rows)


@pytest.mark.slow
def test_rerun_judges_on_test_and_tunes_the_lr_on_validation(tmp_path: Path) -> None:
    url = confirmed_db(tmp_path / "c.db", confirm=False)
    result = run(
        "rerun", "s/1", "--in-process", "--seeds", "2", "--against", "relu", "--db", url,
        "--lr-grid", "0.5,2", "--tuning-seeds", "1", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output[result.output.index("[") :])
    assert all(r["split"] == "test" and r["lr_factor"] in (0.5, 2.0) for r in rows)
    assert all(len(r["values"]) == 2 and r["scale"] == "linear" for r in rows)
    val = run(
        "rerun", "s/1", "--in-process", "--seeds", "2", "--against", "relu", "--db", url,
        "--split", "val", "--json",
    )  # fmt: skip
    val_rows = json.loads(val.output[val.output.index("[") :])
    assert [r["split"] for r in val_rows] == ["val", "val"]
    assert [r["lr_factor"] for r in val_rows] == [1.0, 1.0]
    assert val_rows[0]["values"] != rows[0]["values"]
