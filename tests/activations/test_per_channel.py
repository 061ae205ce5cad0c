"""per_channel in a family config: accepted by every family with trainable parameters."""

from __future__ import annotations

import pytest

from afsearch.activations import build, list_families
from afsearch.exceptions import AfsearchError

TRAINABLE = [f.name for f in list_families() if f.can_train and f.name not in ("expression",)]


@pytest.mark.parametrize("family", TRAINABLE)
def test_every_family_with_trainable_parameters_takes_per_channel(family):
    config = {"family": family, "trainable": True, "per_channel": True}
    if family == "grammar":
        config["unit"] = {"binary": "mul", "left": "x", "right": "scale"}
    candidate = build(config)
    assert candidate.per_channel and candidate.trainable
    assert candidate.built_from["per_channel"] is True


def test_expression_family_with_a_trainable_parameter():
    candidate = build(
        {
            "family": "expression",
            "expression": "x*tanh(a*x)",
            "params": {"a": {"value": 1.0, "trainable": True}},
            "per_channel": True,
        }
    )
    assert candidate.per_channel


def test_a_family_without_parameters_refuses_per_channel():
    with pytest.raises(AfsearchError, match="family 'standard' has no parameter"):
        build({"family": "standard", "name": "relu", "per_channel": True})


def test_trainable_false_refuses_per_channel():
    with pytest.raises(AfsearchError, match="family 'swish' has trainable: false"):
        build({"family": "swish", "trainable": False, "per_channel": True})


def test_per_channel_must_be_a_bool():
    with pytest.raises(AfsearchError, match="'per_channel' of family 'swish' must be true or"):
        build({"family": "swish", "per_channel": "yes"})


def test_a_drawn_unit_without_trainable_parameters_is_the_plain_function():
    config = {"family": "grammar", "unit": {"binary": "mul", "left": "x", "right": "sigmoid"}}
    assert not build({**config, "per_channel": True}).per_channel


def test_an_ensemble_member_cannot_set_per_channel():
    members = [{"family": "swish", "per_channel": True}, {"family": "standard", "name": "gelu"}]
    with pytest.raises(AfsearchError, match="set per_channel: true on the ensemble"):
        build({"family": "ensemble", "members": members})
    assert build({"family": "ensemble", "per_channel": True}).per_channel
