"""Exporting to files: export_activation's .py and .json, export_trial by reference and best."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from afsearch.activations import build
from afsearch.compiler import CompiledActivation, activation_id, candidate_record
from afsearch.exceptions import AfsearchError
from afsearch.expr import Param, X, parse_expression
from afsearch.results import Exported, export_activation, export_trial, trial_candidate
from afsearch.store import TrialStore, studies, trial, trials
from tests.helpers import store_trial


def imported_names(source: str) -> set[str]:
    """The top-level packages a module's source imports."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


def load(path: Path, cls: str) -> tuple[Any, torch.nn.Module]:
    """Import an exported file as a module of its own; returns it and ``cls()``."""
    spec = importlib.util.spec_from_file_location(f"exported_{cls}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, getattr(mod, cls)()


def evaluate(act: Any) -> tuple[list[float], list[float]]:
    x = torch.linspace(-3.1, 2.9, 31, dtype=torch.float64, requires_grad=True)
    y = act(x)
    y.sum().backward()
    assert x.grad is not None
    return y.tolist(), x.grad.tolist()


def reference(candidate: Any) -> tuple[list[float], list[float]]:
    return evaluate(CompiledActivation(candidate, torch.float64))


def add_trial(
    url: str,
    study: str,
    activation: dict[str, Any],
    *,
    status: str,
    metric: float | None,
    learned: dict[str, float] | None = None,
    mode: str = "max",
    duplicate_of: int | None = None,
) -> int:
    """Add a trial (and its study, if new) to a database made by ``store_trial``."""
    record = candidate_record(build(activation))
    with TrialStore(url) as store:
        if study not in {s.name for s in studies(url)}:
            store.create_study(
                study,
                space={},
                task="digits-mlp",
                metric="val_accuracy" if mode == "max" else "val_loss",
                mode=mode,
                sampler="tpe",
                scheduler="none",
                num_samples=10,
            )
        store.upsert_activation(
            record["id"],
            expression=record["expression"],
            srepr=record["srepr"],
            latex=record["latex"],
            family=record["family"],
            params=record["params"],
        )
        n = len(trials(study, url))
        tid = store.start_trial(
            study,
            tune_trial_id=f"{study}-{n}",
            config={"activation": activation, "expression": record["expression"]},
            activation_id=record["id"],
        )
        if status != "running":
            store.finish_trial(
                tid,
                status=status,
                metric_value=metric,
                learned_params={"mean": learned} if learned else None,
                duplicate_of=duplicate_of,
            )
    return tid


@pytest.fixture
def url(tmp_path: Path) -> str:
    return store_trial(tmp_path / "e.db")


# export_activation: the files and the record.


def test_json_record(tmp_path: Path) -> None:
    cand = build({"family": "swish", "beta": 1.7, "trainable": True})
    exp = export_activation(cand.expr, cand.params, "SwishBeta", tmp_path)
    record = json.loads(exp.json_path.read_text())
    assert record["expression"] == "x*sigmoid(beta*x)"
    assert record["params"] == {"beta": {"value": 1.7, "trainable": True}}
    assert record["activation_id"] == activation_id(cand)
    assert "srepr" in record and "latex" in record and record["fingerprint"]["values"]


def test_export_activation_writes_both_files_and_names_them(tmp_path: Path) -> None:
    expr = parse_expression("x*tanh(softplus(a*x))", params=["a"])
    out = tmp_path / "deep" / "er"  # made if missing
    exp = export_activation(expr, {"a": 0.75}, "MishLike", out, extra={"note": "hello"})
    assert exp == Exported(out / "MishLike.py", out / "MishLike.json", "MishLike", "mish_like")
    assert sorted(p.name for p in out.iterdir()) == ["MishLike.json", "MishLike.py"]
    record = json.loads(exp.json_path.read_text())
    assert set(record) == {
        "name",
        "expression",
        "srepr",
        "latex",
        "params",
        "family",
        "activation_id",
        "fingerprint",
        "note",
    }
    assert record["name"] == "MishLike" and record["note"] == "hello"
    # A bare number is a fixed parameter; the family defaults to "expression".
    assert record["params"] == {"a": {"value": 0.75, "trainable": False}}
    assert record["family"] == "expression"
    assert exp.json_path.read_text().endswith("}\n")


def test_a_rewritten_export_replaces_the_old_files(tmp_path: Path) -> None:
    export_activation(X, {}, "Act", tmp_path)
    exp = export_activation(X * 2, {}, "Act", tmp_path)
    assert json.loads(exp.json_path.read_text())["expression"] == "2*x"
    assert "EXPRESSION = '2*x'" in exp.module_path.read_text()


@pytest.mark.parametrize("bad", ["1abc", "class", "a-b", "x" * 70, "os.system", ""])
def test_bad_class_names_are_refused_before_anything_is_written(bad: str, tmp_path: Path) -> None:
    cand = build({"family": "swish"})
    out = tmp_path / "out"
    with pytest.raises(AfsearchError, match="class name"):
        export_activation(cand.expr, cand.params, bad, out)
    assert not out.exists()


@pytest.mark.parametrize("where", ["a-file", "a-file/below"])
def test_a_folder_that_cannot_be_written_gives_one_sentence(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / where
    with pytest.raises(AfsearchError) as info:
        export_activation(X, {}, "Act", out)
    message = str(info.value)
    assert message.startswith(f"Could not write the export to {str(out)!r}: ")
    assert message.endswith(".") and "\n" not in message and "None" not in message
    assert (tmp_path / "a-file").read_text() == "not a folder"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders"
)
def test_a_read_only_folder_gives_one_sentence(tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        with pytest.raises(AfsearchError, match="Could not write the export to .*: Permission"):
            export_activation(X, {}, "Act", out)
    finally:
        out.chmod(0o700)


# export_trial: by reference and best of a study, from a database as a search leaves it.


def test_export_trial_by_reference_runs_with_torch_alone_and_uses_learned_values(
    url: str, tmp_path: Path
) -> None:
    t = trial("s/0", url)
    by_ref = export_trial("s/0", url, out_dir=tmp_path / "a")
    by_id = export_trial(t.id, url, out_dir=tmp_path / "b", name="Learned")
    assert by_ref.class_name == "STrial0" and by_ref.module_path.name == "STrial0.py"
    assert by_id.class_name == "Learned" and by_id.function_name == "learned"
    y, dx = reference(trial_candidate(t))
    y_init, _ = reference(trial_candidate(t, learned=False))
    for exp in (by_ref, by_id):
        # torch and the standard library only (the fresh-interpreter test of
        # tests/compiler/test_export.py runs such modules with afsearch unimportable).
        assert imported_names(exp.module_path.read_text()) == {"__future__", "math", "torch"}
        mod, act = load(exp.module_path, exp.class_name)
        assert mod.PARAMS == {"beta": 1.7} and mod.TRAINABLE == ("beta",)
        assert mod.EXPRESSION == "x*sigmoid(beta*x)"
        assert [n for n, _ in act.named_parameters()] == ["p_beta"]
        got_y, got_dx = evaluate(act.double())
        torch.testing.assert_close(torch.tensor(got_y), torch.tensor(y))
        torch.testing.assert_close(torch.tensor(got_dx), torch.tensor(dx))
        assert torch.tensor(got_y).ne(torch.tensor(y_init)).any()
        # The plain function form takes the learned value as its default too.
        x = torch.linspace(-2, 2, 9, dtype=torch.float64)
        torch.testing.assert_close(getattr(mod, exp.function_name)(x), act(x))


def test_export_trial_json_records_the_trial(url: str, tmp_path: Path) -> None:
    t = trial("s/0", url)
    exp = export_trial("s/0", url, out_dir=tmp_path)
    record = json.loads(exp.json_path.read_text())
    assert record["name"] == "STrial0"
    assert record["family"] == "swish"
    assert record["expression"] == "x*sigmoid(beta*x)"
    assert record["params"] == {"beta": {"value": 1.7, "trainable": True}}
    # The id of the function exported (with its learned beta), not of the one the trial began.
    assert record["activation_id"] == activation_id(trial_candidate(t))
    assert record["trial"] == {
        "study": "s",
        "number": 0,
        "id": t.id,
        "metric_value": 0.8,
        "status": "completed",
    }
    assert record["learned_params"] == {"mean": {"beta": 1.7}, "per_site": {"beta": [1.6, 1.8]}}
    assert record["activation_config"] == {"family": "swish", "beta": 1.5, "trainable": True}


def test_best_is_the_best_completed_or_duplicate_trial(url: str, tmp_path: Path) -> None:
    only = export_trial(None, url, study="s", out_dir=tmp_path / "0")
    assert json.loads(only.json_path.read_text())["trial"]["number"] == 0
    elu = {"family": "elu", "alpha": 1.0, "trainable": True}
    # Higher metrics, but not results to export: pruned, failed, still running.
    add_trial(url, "s", {"family": "swish", "beta": 0.5}, status="pruned", metric=0.99)
    add_trial(url, "s", {"family": "gelu"}, status="failed", metric=None)
    add_trial(url, "s", {"family": "mish"}, status="running", metric=None)
    best = add_trial(url, "s", elu, status="completed", metric=0.85, learned={"alpha": 0.6})
    exp = export_trial(None, url, study="s", out_dir=tmp_path / "1")
    record = json.loads(exp.json_path.read_text())
    assert record["trial"]["number"] == 4 and record["trial"]["id"] == best
    assert exp.class_name == "STrial4"
    assert record["family"] == "elu" and record["params"]["alpha"]["value"] == 0.6
    # A duplicate carries the result of the trial it repeats, so it can be the best.
    add_trial(url, "s", elu, status="duplicate", metric=0.9, duplicate_of=best)
    exp = export_trial(None, url, study="s", out_dir=tmp_path / "2")
    assert json.loads(exp.json_path.read_text())["trial"]["status"] == "duplicate"


def test_best_of_a_minimised_metric_is_the_lowest(url: str, tmp_path: Path) -> None:
    for metric in (0.4, 0.2, 0.3):
        add_trial(url, "loss", {"family": "swish"}, status="completed", metric=metric, mode="min")
    exp = export_trial(None, url, study="loss", out_dir=tmp_path)
    assert json.loads(exp.json_path.read_text())["trial"]["metric_value"] == 0.2
    assert exp.class_name == "LossTrial1"


@pytest.mark.parametrize(
    ("study", "cls"),
    [
        ("my-study.v2", "MyStudyV2Trial0"),
        ("2024 run", "Act2024RunTrial0"),
        ("--", "ActivationTrial0"),
    ],
)
def test_class_names_come_from_the_study_name(
    url: str, tmp_path: Path, study: str, cls: str
) -> None:
    add_trial(url, study, {"family": "swish"}, status="completed", metric=0.5)
    exp = export_trial(f"{study}/0", url, out_dir=tmp_path)
    assert exp.class_name == cls and exp.module_path.name == f"{cls}.py"


def test_export_trial_refusals_are_one_sentence(url: str, tmp_path: Path) -> None:
    add_trial(url, "empty", {"family": "swish"}, status="failed", metric=None)
    cases = {
        "Name a trial, or a study whose best trial to export.": lambda: export_trial(None, url),
        "Study 'empty' has no completed trial to export yet.": lambda: export_trial(
            None, url, study="empty", out_dir=tmp_path
        ),
    }
    for message, call in cases.items():
        with pytest.raises(AfsearchError) as info:
            call()
        assert str(info.value) == message
    with pytest.raises(AfsearchError):
        export_trial("nope/0", url, out_dir=tmp_path)
    with pytest.raises(AfsearchError):
        export_trial("s/7", url, out_dir=tmp_path)
    assert list(tmp_path.glob("*.py")) == []


def test_the_exported_parameters_are_params_not_values(tmp_path: Path) -> None:
    exp = export_activation(
        parse_expression("a*x + b", params=["a", "b"]),
        {"a": Param(2.0, trainable=True), "b": -1.0},
        "Affine",
        tmp_path,
    )
    record = json.loads(exp.json_path.read_text())
    assert record["params"] == {
        "a": {"value": 2.0, "trainable": True},
        "b": {"value": -1.0, "trainable": False},
    }
    assert "TRAINABLE = ('a',)" in exp.module_path.read_text()
