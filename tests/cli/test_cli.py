"""The command line: clear one-line errors, working commands, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.store import TrialStore, trial
from tests.helpers import store_trial

runner = CliRunner()


def run(*args: str, env: dict | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env)


def assert_one_line_error(result, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert "Traceback" not in text
    assert text.count("\n") == 0 or len(text.splitlines()) <= 2, text
    assert fragment in " ".join(text.split()), text


def test_families_lists_every_family() -> None:
    result = run("families", "--json")
    assert result.exit_code == 0
    names = {f["name"] for f in json.loads(result.output)}
    assert {"slaf", "swish", "ensemble", "grammar", "rational", "xielu"} <= names
    assert run("families").exit_code == 0


def test_tasks_lists_every_task() -> None:
    result = run("tasks", "--json")
    names = {t["name"] for t in json.loads(result.output)}
    assert {
        "digits-mlp",
        "mnist1d-mlp",
        "mnist1d-cnn",
        "teacher-student",
        "cifar10-resnet20",
    } <= names


def test_export_expr_writes_module_and_json(tmp_path: Path) -> None:
    result = run(
        "export-expr",
        "x*sigmoid(beta*x)",
        "--param",
        "beta=1.5",
        "--trainable",
        "beta",
        "--name",
        "SwishBeta",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "SwishBeta.py").exists()
    record = json.loads((tmp_path / "SwishBeta.json").read_text())
    assert record["params"]["beta"] == {"value": 1.5, "trainable": True}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["export-expr", "__import__('os').system('id')"], "refused"),
        (["export-expr", "x.__class__"], "attribute access is not allowed"),
        (["export-expr", "x*beta"], "give each a value with --param"),
        (["export-expr", "x*beta", "--param", "beta=abc"], "must be a number, got 'abc'"),
        (["export-expr", "x*beta", "--param", "beta"], "--param takes NAME=VALUE"),
        (["export-expr", "x", "--name", "1bad"], "class name '1bad' is not valid"),
        (["validate", "/nonexistent.yaml"], "does not exist"),
        (["studies", "--db", "notadb://x"], "notadb"),
        (
            ["export-expr", "x*sigmoid(beta*x)", "--param", "beta=1", "--param", "bta=2"],
            "The expression has no parameter 'bta'; it uses beta",
        ),
        (["studies", "--db", "mysql://u:p@h/db"], "supports and tests SQLite and PostgreSQL"),
        # Brackets in a sentence are text, not markup: the extra's name survives.
        (["studies", "--db", "postgresql+asyncpg://u:p@h/db"], "afsearch[postgres]"),
        (["trials", "--db", "sqlite:////nonexistent-dir/x.db", "--study", "s"], ""),
    ],
)
def test_bad_input_gives_one_sentence_and_exit_2(args: list[str], fragment: str) -> None:
    assert_one_line_error(run(*args), fragment)


def test_validate_reports_key_and_value(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("families:\n  - family: slaf\n    basis: hermite\n")
    assert_one_line_error(run("validate", str(p)), "families[0]: Unknown SLAF basis 'hermite'")
    p.write_text("families: [\n")
    assert_one_line_error(run("validate", str(p)), "is not valid YAML at line")
    root = Path(__file__).resolve().parents[2]
    ok = run("validate", str(root / "search_spaces" / "quickstart.yaml"))
    assert ok.exit_code == 0 and "ok" in ok.output


def test_launch_refuses_bad_input_before_starting_ray(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    space = str(root / "search_spaces" / "quickstart.yaml")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert_one_line_error(run("launch", space, "--db", db, "--task", "nope"), "Unknown task 'nope'")
    assert_one_line_error(run("launch", space, "--db", "mysql+nodriver://u:pw@h/db"), "")
    assert_one_line_error(
        run("launch", space, "--db", db, "--study", "s", "--resume"), "no study 's'"
    )


def test_passwords_never_reach_the_output() -> None:
    result = run("studies", "--db", "postgresql+psycopg://user:hunter2@127.0.0.1:1/db")
    assert result.exit_code == 2
    assert "hunter2" not in result.output


@pytest.mark.slow
def test_console_script_exits_2_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "afsearch"
    proc = subprocess.run(
        [str(exe), "export-expr", "open('/etc/passwd')"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "refused" in proc.stderr


def _stored(tmp_path: Path) -> str:
    return store_trial(tmp_path / "r.db")


def test_show_plot_and_export_use_learned_values(tmp_path: Path) -> None:
    url = _stored(tmp_path)
    shown = run("show", "s/0", "--db", url, "--plot", str(tmp_path / "p.png"))
    assert shown.exit_code == 0, shown.output
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads(run("show", "s/0", "--db", url, "--json").output)["status"] == "completed"
    with TrialStore(url) as store:
        store.record_checkpoint(trial("s/0", store).id, "/runs/s/t0/checkpoint_000004", 4)
    shown = run("show", "s/0", "--db", url)
    assert "checkpoint after epoch 4: /runs/s/t0/checkpoint_000004" in shown.output
    exported = run("export", "--study", "s", "--best", "--db", url, "--out", str(tmp_path / "e"))
    assert exported.exit_code == 0, exported.output
    record = json.loads(next((tmp_path / "e").glob("*.json")).read_text())
    assert record["params"]["beta"]["value"] == 1.7


@pytest.mark.slow
def test_rerun_trains_on_fresh_seeds_against_baselines(tmp_path: Path) -> None:
    url = _stored(tmp_path)
    result = run("rerun", "s/0", "--db", url, "--seeds", "2", "--against", "relu", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output[result.output.index("[") :])
    assert [r["name"] for r in rows] == ["s/0", "relu"]
    for r in rows:
        assert len(r["values"]) == 2 and all(0 <= v <= 1 for v in r["values"])
    assert rows[1]["p_value"] == rows[1]["p_value"]  # a number, not NaN


def test_trials_prints_csv_json_or_a_table(tmp_path: Path) -> None:
    import csv
    import io

    db = store_trial(tmp_path / "f.db")
    result = run("trials", "--db", db, "--format", "csv")
    assert result.exit_code == 0, result.output
    (row,) = list(csv.DictReader(io.StringIO(result.output)))
    assert (row["study"], row["number"], row["status"]) == ("s", "0", "completed")
    assert float(row["learned.beta"]) == 1.7 and row["config.task"] == "digits-mlp"
    as_json = json.loads(run("trials", "--db", db, "-f", "json").output)
    assert [t["number"] for t in as_json] == [0]
    assert "#0" in run("trials", "--db", db).output
    assert_one_line_error(run("trials", "--db", db, "-f", "xml"), "--format must be")


def test_the_leaderboard_shows_a_per_site_activation_at_each_site(tmp_path: Path) -> None:
    from afsearch.activations import per_site_config
    from tests.helpers import add_finished_trial, create_digits_study

    url = f"sqlite:///{tmp_path / 'p.db'}"
    sites = [{"family": "standard", "name": "tanh"}, {"family": "standard", "name": "silu"}]
    with TrialStore(url) as store:
        create_digits_study(store, "p")
        add_finished_trial(store, "p", per_site_config(sites), value=0.5)
    result = run("trials", "--db", url)
    assert result.exit_code == 0, result.output
    # As rich markup, "[standard(...); ...]" would be a style tag and the row would read
    # "sites". The column folds the label after the semicolon.
    assert "sites[standard(name=tanh);" in result.output
    assert "standard(name=silu)]" in result.output


def test_studies_on_an_empty_database_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    TrialStore(url).close()
    result = run("studies", "--db", url)
    assert result.exit_code == 0 and "no studies yet" in result.output


@pytest.mark.parametrize("confirmed", [False, True])
def test_studies_keeps_every_header_whole_at_80_columns(tmp_path: Path, confirmed: bool) -> None:
    from tests.cli.test_confirm_cli import confirmed_db
    from tests.helpers import create_digits_study

    url = confirmed_db(tmp_path / "c.db") if confirmed else store_trial(tmp_path / "s.db")
    with TrialStore(url) as store:
        create_digits_study(store, "quickstart-20240101-120000-with-a-long-name")
    result = run("studies", "--db", url, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    table = result.output.split("done: completed;")[0]
    assert "…" not in table, table
    assert max(len(line) for line in table.splitlines()) <= 80, table
    header = next(line for line in table.splitlines() if line.startswith("name"))
    words = ["name", "task, metric", "status", "trials", "best"]
    for word in [*words, *(["confirmed best"] if confirmed else [])]:
        assert f" {word} " in f" {header} ", header
    assert "0 pruned" in table and "0 skipped" in table and "val_accuracy" in table
    # A long study name folds onto more lines; the other columns keep their width.
    assert "quickstart-" in table
    if confirmed:
        assert "#1 0.9550 better" in table


def test_a_bare_number_is_a_trial_number_and_ids_need_their_prefix(tmp_path: Path) -> None:
    url = store_trial(tmp_path / "n.db")
    with TrialStore(url) as store:
        from afsearch.store import trials

        (t,) = trials("s", store)
        # A second study whose trial 0 has a larger id than the first study's.
        store.create_study(
            "other",
            space={},
            task="digits-mlp",
            metric="val_accuracy",
            mode="max",
            sampler="tpe",
            scheduler="none",
            num_samples=1,
        )
    shown = {
        ref: json.loads(run("show", *ref.split(), "--db", url, "--json").output)["id"]
        for ref in ("s/0", "0 --study s", "#0 --study s", f"id:{t.id}")
    }
    assert set(shown.values()) == {t.id}, shown
    # With two studies, a bare number needs --study; a bad reference is one sentence.
    assert_one_line_error(run("show", "0", "--db", url), "Name a study with --study")
    assert_one_line_error(run("show", "zero", "--db", url), "is not STUDY/N")
