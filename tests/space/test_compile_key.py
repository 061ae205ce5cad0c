"""The ``compile:`` key and the short form of ``objectives`` that the cost metric uses."""

from __future__ import annotations

import pytest

from afsearch.exceptions import AfsearchError
from afsearch.space import parse_space

BASE = {"task": "digits-mlp", "families": [{"family": "standard", "name": "relu"}]}


def test_compile_defaults_to_auto_and_takes_always_and_never() -> None:
    assert parse_space(BASE).compile == "auto"
    for mode in ("auto", "always", "never"):
        assert parse_space({**BASE, "compile": mode}).compile == mode


@pytest.mark.parametrize("bad", ["sometimes", True, 1, None])
def test_a_bad_compile_value_gets_one_sentence(bad: object) -> None:
    with pytest.raises(AfsearchError, match="compile: must be 'always', 'auto' or 'never', got"):
        parse_space({**BASE, "compile": bad})


def test_objectives_take_name_mode_pairs() -> None:
    space = parse_space(
        {
            **BASE,
            "sampler": "nsga2",
            "scheduler": "none",
            "objectives": [["val_accuracy", "max"], ["activation_cost", "min"]],
        }
    )
    assert space.objectives == [("val_accuracy", "max"), ("activation_cost", "min")]
    with pytest.raises(AfsearchError, match=r"objectives\[1\].mode: must be"):
        parse_space(
            {
                **BASE,
                "sampler": "nsga2",
                "scheduler": "none",
                "objectives": [["val_accuracy", "max"], ["activation_cost", "least"]],
            }
        )
