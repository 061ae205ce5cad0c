"""Nothing a user, a trial or a tampered database row carries can run as code."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import pytest
import sympy
from typer.testing import CliRunner

from afsearch.activations import build
from afsearch.cli import app
from afsearch.compiler import CompiledActivation, render_module
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate, Param, X, parse_expression, sigmoid, symbol
from afsearch.store import mask_url
from tests.helpers import store_trial

HOSTILE_NAMES = [
    "torch",
    "math",
    "grad",
    "ctx",
    "self",
    "x_",
    "t0",
    "horner",
    "safe_exp",
    "EXPRESSION",
    "PARAMS",
    "lambda",
    "import",
    "exec",
    "eval",
    "open",
    "p_p_x",
    "os",
    "sys",
    "super",
    "None1",
    "print",
]


def _allowed_names(source: str) -> set[str]:
    runtime = {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    classes = {n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}
    return (
        runtime
        | classes
        | {
            "torch",
            "math",
            "x",
            "grad",
            "ctx",
            "self",
            "u",
            "a",
            "b",
            "cond",
            "coeffs",
            "acc",
            "c",
            "k",
            "n",
            "b1",
            "b2",
            "lim",
            "value",
            "train",
            "trainable",
            "originals",
            "grads",
            "grad_x",
            "any",
            "float",
            "len",
            "isinstance",
            "range",
            "reversed",
            "super",
            "list",
            "EXPRESSION",
            "LATEX",
            "PARAMS",
            "TRAINABLE",
            "_EXP_MAX",
            "annotations",
            "bool",
            "getattr",
            "staticmethod",
            "str",
            "v",
            "type",
        }
    )


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_generated_code_holds_only_allow_listed_names(name: str) -> None:
    # Built by hand: a keyword name cannot even pass the parser, but may sit in a stored row.
    p = symbol(name)
    cand = Candidate(X * sigmoid(p * X) + sympy.Float(1e308) * p, {name: Param(1.5, True)})
    source = render_module(cand, "Hostile")
    tree = ast.parse(source)
    allowed = _allowed_names(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            ok = node.id in allowed or re.fullmatch(r"t\d+|p_\w+", node.id)
            assert ok, f"unexpected name {node.id!r} in generated code"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert set(mods) <= {"torch", "math", "__future__"}, mods
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec", "open", "__import__", "compile"}
    compile(source, "<hostile>", "exec")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1; import os", None, True])
def test_hostile_parameter_values_are_refused(value: object) -> None:
    with pytest.raises(AfsearchError):
        Param(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["__class__", "a b", "a;b", "1a", "é", ""])
def test_invalid_parameter_names_are_refused(name: str) -> None:
    with pytest.raises(AfsearchError):
        CompiledActivation(Candidate(parse_expression("x"), {name: Param(1.0)}))
        build({"family": "expression", "expression": f"{name}*x", "params": {name: 1.0}})


def _stored_trial(tmp_path: Path) -> tuple[str, Path]:
    db = tmp_path / "t.db"
    return store_trial(db), db


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('touch PWNED')",
        "x.__class__.__bases__",
        "open('PWNED','w')",
        "x**9**9**9",
    ],
)
def test_a_tampered_row_cannot_execute_code(
    tmp_path: Path, expression: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, db = _stored_trial(tmp_path)
    with sqlite3.connect(db) as con:
        con.execute("update afs_activations set expression = ?", (expression,))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in (
        ["export", "s/0", "--db", url, "--out", str(tmp_path / "out")],
        ["show", "s/0", "--db", url, "--plot", str(tmp_path / "p.png")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "refused" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_tampered_parameter_values_are_refused(tmp_path: Path) -> None:
    url, db = _stored_trial(tmp_path)
    with sqlite3.connect(db) as con:
        con.execute("""update afs_activations set params = '{"beta": {"value": "os"}}'""")
    result = CliRunner().invoke(app, ["export", "s/0", "--db", url, "--out", str(tmp_path)])
    assert result.exit_code == 2 and "must be a number" in result.output


def test_urls_are_shown_with_the_password_masked() -> None:
    masked = mask_url("postgresql+psycopg://user:s3cret@db.example:5432/afs")
    assert "s3cret" not in masked and "user" in masked


class _Payload:
    """Unpickling this would create ``marker``: what a tampered checkpoint file could hold."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_a_tampered_checkpoint_cannot_execute_code(tmp_path: Path) -> None:
    import pickle

    from ray import tune

    from afsearch.orchestrator._trainable import STATE_FILE, _load_state
    from afsearch.tasks import TaskSettings

    folder = tmp_path / "checkpoint_000003"
    folder.mkdir()
    marker = tmp_path / "pwned"
    (folder / STATE_FILE).write_bytes(pickle.dumps({"epoch": 3, "runs": [_Payload(marker)]}))
    settings = TaskSettings(epochs=10)
    # Through Tune's retry, and through a location read back from the database.
    assert _load_state(tune.Checkpoint.from_directory(folder), None, 1, settings) is None
    assert _load_state(None, {"location": str(folder), "epoch": 3}, 1, settings) is None
    assert not marker.exists()
