"""The ``confirm:`` key: its defaults, and one sentence for each bad value."""

from __future__ import annotations

import pytest

from afsearch.exceptions import AfsearchError
from afsearch.space import ConfirmOptions, parse_space

BASE = {"task": "digits-mlp", "families": [{"family": "standard", "name": "relu"}]}


def test_confirm_is_off_unless_asked_and_true_takes_the_defaults() -> None:
    assert parse_space(BASE).confirm is None
    assert parse_space({**BASE, "confirm": False}).confirm is None
    assert parse_space({**BASE, "confirm": True}).confirm == ConfirmOptions(
        top=5, seeds=10, against=("relu", "gelu", "silu", "mish", "elu", "tanh")
    )


def test_confirm_options_are_read() -> None:
    space = parse_space({**BASE, "confirm": {"top": 2, "seeds": 3, "against": ["tanh", "gelu"]}})
    assert space.confirm == ConfirmOptions(2, 3, ("tanh", "gelu"))
    assert space.confirm.to_dict() == {
        "top": 2,
        "seeds": 3,
        "against": ["tanh", "gelu"],
        "split": "test",
        "lr_grid": None,
        "tuning_seeds": 2,
        "recipes": [],
    }


def test_the_protocol_options_are_read() -> None:
    confirm = {
        "split": "val",
        "lr_grid": [0.3, 1, 3.0],
        "tuning_seeds": 3,
        "recipes": [
            {"optimizer": "sgd", "lr": 0.05, "batch_size": 32},
            {"name": "long", "epochs": 20},
        ],
    }
    options = parse_space({**BASE, "confirm": confirm}).confirm
    assert options.split == "val" and options.lr_grid == (0.3, 1.0, 3.0)
    assert options.tuning_seeds == 3
    assert [r["name"] for r in options.recipes] == ["optimizer sgd, lr 0.05, batch_size 32", "long"]


@pytest.mark.parametrize(
    ("confirm", "fragment"),
    [
        ({"seeds": 1}, "seeds of confirm must be an integer from 2 to 1000"),
        ({"seeds": True}, "seeds of confirm must be an integer"),
        ({"top": 0}, "top of confirm must be an integer from 1 to 1000, got 0."),
        ({"top": "2"}, "top of confirm must be an integer from 1 to 1000, got '2'."),
        ({"against": ["relu", "gleu"]}, "names 'gleu', which is not a standard activation"),
        ({"against": "relu"}, "against of confirm must be a non-empty list"),
        ({"against": []}, "against of confirm must be a non-empty list"),
        ({"against": ["relu", "relu"]}, "names an activation twice"),
        ({"topp": 3}, "confirm has no option 'topp'; its options are 'against', 'lr_grid', "),
        (
            {"lr_grid": [0.3, 0.0, 3.0]},
            "lr_grid of confirm holds 0.0; every factor must be a number above 0.",
        ),
        ({"lr_grid": [-1]}, "every factor must be a number above 0"),
        ({"lr_grid": "0.3"}, "lr_grid of confirm must be a non-empty list of factors"),
        ({"lr_grid": [1, 1]}, "names a factor twice"),
        ({"split": "train"}, "split of confirm must be one of 'test' or 'val', got 'train'."),
        ({"tuning_seeds": 0}, "tuning_seeds of confirm must be an integer from 1 to 100"),
        (
            {"recipes": [{"optimiser": "sgd"}]},
            "recipes[0] of confirm names 'optimiser', which is not a task setting",
        ),
        ({"recipes": [{"lr": -1}]}, "recipes[0] of confirm: lr must be a finite number above 0"),
        ({"recipes": {"lr": 1}}, "recipes of confirm must be a list"),
        ("yes", "confirm must be true or a mapping of its options"),
    ],
)
def test_bad_confirm_gets_one_sentence_naming_key_and_value(confirm: object, fragment: str) -> None:
    with pytest.raises(AfsearchError) as info:
        parse_space({**BASE, "confirm": confirm}, source="s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml: confirm: ") and fragment in message
    assert "\n" not in message
