"""trial_candidate: a stored trial back to the candidate it trained, through the parser."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
import sympy

from afsearch.exceptions import AfsearchError, UnsafeExpressionError
from afsearch.expr import Param, X, sigmoid, symbol
from afsearch.results import trial_candidate
from afsearch.store import TrialRecord, trial
from tests.helpers import store_trial


@pytest.fixture
def stored(tmp_path: Path) -> tuple[str, TrialRecord]:
    url = store_trial(tmp_path / "t.db")
    return url, trial("s/0", url)


def test_learned_values_replace_the_initial_ones(stored: tuple[str, TrialRecord]) -> None:
    _, t = stored
    cand = trial_candidate(t)
    assert cand.expr == X * sigmoid(symbol("beta") * X)
    assert cand.family == "swish"
    # The mean over the network's sites, still trainable.
    assert cand.params == {"beta": Param(1.7, trainable=True)}


def test_without_learned_values_the_initial_ones_stay(stored: tuple[str, TrialRecord]) -> None:
    _, t = stored
    cand = trial_candidate(t, learned=False)
    assert cand.params == {"beta": Param(1.5, trainable=True)}
    assert cand.expr == trial_candidate(t).expr


@pytest.mark.parametrize(
    "learned",
    [
        None,
        {},
        {"per_site": {"beta": [1.6, 1.8]}},
        {"mean": {"beta": "1.7"}},  # not a number: ignored, not coerced
        {"mean": {"gamma": 2.0}},  # not a parameter of the expression
    ],
    ids=["none", "empty", "no-mean", "text", "unknown-name"],
)
def test_learned_params_without_a_usable_mean_keep_the_initial_values(
    stored: tuple[str, TrialRecord], learned: object
) -> None:
    _, t = stored
    cand = trial_candidate(dataclasses.replace(t, learned_params=learned))
    assert cand.params == {"beta": Param(1.5, trainable=True)}


def test_a_trial_without_an_activation_is_refused_in_one_sentence(
    stored: tuple[str, TrialRecord],
) -> None:
    _, t = stored
    with pytest.raises(AfsearchError) as info:
        trial_candidate(dataclasses.replace(t, activation=None, activation_id=None))
    message = str(info.value)
    assert message == "Trial s/0 has no activation recorded."
    assert "\n" not in message


@pytest.mark.parametrize(
    "tampered",
    [
        "__import__('os').system('touch pwned')",
        "x.__class__",
        "exec('1')*x",
        "x*sigmoid(beta*x) + gamma",  # a name the stored params do not give
        "lambda: x",
    ],
)
def test_a_tampered_stored_expression_is_refused_by_the_parser(
    tmp_path: Path, tampered: str
) -> None:
    url = store_trial(tmp_path / "t.db")
    # Tamper with the row itself, as someone with write access to the database could.
    with sqlite3.connect(tmp_path / "t.db") as db:
        db.execute("UPDATE afs_activations SET expression = ?", (tampered,))
    t = trial("s/0", url)
    assert t.activation is not None and t.activation.expression == tampered
    with pytest.raises(UnsafeExpressionError, match="was refused"):
        trial_candidate(t)
    assert not (tmp_path / "pwned").exists()
    assert not Path("pwned").exists()


def test_the_expression_comes_from_the_activation_row_not_the_trial_config(
    stored: tuple[str, TrialRecord],
) -> None:
    _, t = stored
    config = dict(t.config, expression="x")  # the config's copy is for readers only
    cand = trial_candidate(dataclasses.replace(t, config=config))
    assert cand.expr == X * sigmoid(symbol("beta") * X)
    assert sympy.srepr(cand.expr) == t.activation.srepr  # type: ignore[union-attr]
