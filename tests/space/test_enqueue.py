"""``enqueue:``: standard names and family configs, each built when the space is read; errors
name the file, the key and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.exceptions import AfsearchError
from afsearch.space import load_space, parse_space
from tests.helpers import checked_space

BASE = {
    "task": {"name": "digits-mlp", "epochs": 1},
    "families": [{"family": "elu", "alpha": {"low": 0.1, "high": 2.0}}],
}


def test_names_and_configs_become_activation_configs_in_order() -> None:
    space = parse_space({**BASE, "enqueue": ["gelu", {"family": "swish", "beta": 1.0}, "relu"]})
    assert space.enqueue == (
        {"family": "standard", "name": "gelu"},
        {"family": "swish", "beta": 1.0},
        {"family": "standard", "name": "relu"},
    )
    assert parse_space(BASE).enqueue == ()


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("relu", "s.yaml: enqueue: must be a list of standard activation names or family"),
        (["relu", "gleu"], "s.yaml: enqueue[1]: 'gleu' is not a standard activation; name one"),
        ([{"family": "swish", "beta": "x"}], "enqueue[0]: Parameter 'beta' of family 'swish'"),
        ([{"family": "swish", "beta": {"low": 1, "high": 2}}], "must be a number"),
        ([{"family": "nope"}], "enqueue[0]: Unknown family 'nope'"),
        ([{"family": "swish", "bogus": 1}], "Family 'swish' has no setting 'bogus'"),
        ([3], "enqueue[0]: must be a standard activation name or a family config"),
    ],
)
def test_bad_entries_are_sentences_naming_file_key_and_value(value: object, fragment: str) -> None:
    with pytest.raises(AfsearchError) as caught:
        parse_space({**BASE, "enqueue": value}, source="s.yaml")
    assert fragment in str(caught.value)


def test_a_grid_refuses_enqueue() -> None:
    grid = {**BASE, "sampler": "grid", "families": [{"family": "standard", "name": ["relu"]}]}
    with pytest.raises(AfsearchError, match="enqueue: a grid tries every candidate"):
        checked_space({**grid, "enqueue": ["gelu"]})


def test_validate_reports_a_bad_entry_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**BASE, "enqueue": ["relu", "gleu"]}))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "enqueue[1]: 'gleu' is not a standard activation" in " ".join(result.output.split())
    path.write_text(yaml.safe_dump({**BASE, "enqueue": ["relu"]}))
    assert load_space(path).enqueue == ({"family": "standard", "name": "relu"},)
