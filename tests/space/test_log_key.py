"""The ``log:`` key: run loggers by name, checked where they enter; ``--log`` replaces them."""

from __future__ import annotations

import pytest

from afsearch.exceptions import AfsearchError
from afsearch.space import parse_space, with_overrides
from afsearch.trial import get_run_logger, run_logger_names

BASE = {"task": "digits-mlp", "families": [{"family": "standard", "name": "relu"}]}


def test_the_registered_loggers_are_mlflow_and_tensorboard() -> None:
    assert run_logger_names() == ("mlflow", "tensorboard")
    for name in run_logger_names():
        assert get_run_logger(name).name == name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ()),
        ([], ()),
        (["mlflow"], ("mlflow",)),
        (["tensorboard", "mlflow"], ("tensorboard", "mlflow")),
        (["mlflow", "mlflow"], ("mlflow",)),
        ("tensorboard", ("tensorboard",)),
    ],
)
def test_log_takes_a_list_of_logger_names(raw: object, expected: tuple) -> None:
    assert parse_space({**BASE, "log": raw}).log == expected
    assert parse_space(BASE).log == ()


def test_an_unknown_logger_is_refused_with_the_valid_ones_where_it_stands() -> None:
    with pytest.raises(AfsearchError) as info:
        parse_space({**BASE, "log": ["mlflow", "wandb"]}, source="s.yaml")
    assert str(info.value) == (
        "s.yaml: log[1]: unknown run logger 'wandb'; valid ones are 'mlflow' or 'tensorboard'."
    )
    with pytest.raises(AfsearchError, match=r"^s.yaml: log: unknown run logger 'tb'"):
        parse_space({**BASE, "log": "tb"}, source="s.yaml")


def test_log_must_be_names() -> None:
    with pytest.raises(AfsearchError, match=r"s.yaml: log: must be a list of run loggers"):
        parse_space({**BASE, "log": {"mlflow": True}}, source="s.yaml")


def test_the_flag_replaces_the_spaces_loggers_and_names_a_bad_one() -> None:
    space = parse_space({**BASE, "log": ["mlflow"]})
    assert with_overrides(space).log == ("mlflow",)
    assert with_overrides(space, log=["tensorboard"]).log == ("tensorboard",)
    with pytest.raises(AfsearchError) as info:
        with_overrides(space, log=["tensorboard", "comet"])
    assert str(info.value) == "--log must be 'mlflow' or 'tensorboard', got 'comet'."


def test_an_unknown_logger_name_in_the_registry_lists_the_valid_ones() -> None:
    with pytest.raises(AfsearchError, match="no run logger 'x'; the loggers are 'mlflow' or"):
        get_run_logger("x")
