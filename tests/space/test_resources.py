"""The ``resources:`` key: CPUs and GPUs per trial, checked where they enter; the launch flags
override them."""

from __future__ import annotations

import pytest

from afsearch.exceptions import AfsearchError
from afsearch.space import parse_space, with_overrides

BASE = {"task": "digits-mlp", "families": [{"family": "standard", "name": "relu"}]}


def test_resources_default_to_one_cpu_and_no_gpu() -> None:
    space = parse_space(BASE)
    assert (space.resources.cpus_per_trial, space.resources.gpus_per_trial) == (1.0, 0.0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"gpus_per_trial": 0.5}, (1.0, 0.5)),
        ({"cpus_per_trial": 4, "gpus_per_trial": 2}, (4.0, 2.0)),
        ({"cpus_per_trial": 0.5, "gpus_per_trial": 0.25}, (0.5, 0.25)),
        ({"gpus_per_trial": 0}, (1.0, 0.0)),
        ({}, (1.0, 0.0)),
    ],
)
def test_resources_take_whole_and_fractional_numbers(raw: dict, expected: tuple) -> None:
    space = parse_space({**BASE, "resources": raw}, source="s.yaml")
    assert (space.resources.cpus_per_trial, space.resources.gpus_per_trial) == expected


def test_an_unknown_resource_key_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(AfsearchError) as info:
        parse_space({**BASE, "resources": {"gpus": 1}}, source="s.yaml")
    assert str(info.value) == (
        "s.yaml: resources.gpus: unknown key; valid keys are 'cpus_per_trial' or 'gpus_per_trial'."
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"gpus_per_trial": -0.5}, "resources: gpus_per_trial must be 0, a fraction of one GPU"),
        ({"gpus_per_trial": 1.5}, r"a whole number of GPUs, got 1\.5\."),
        ({"gpus_per_trial": "half"}, "got 'half'"),
        ({"gpus_per_trial": True}, "got True"),
        ({"gpus_per_trial": float("nan")}, "got nan"),
        ({"cpus_per_trial": 0}, "resources: cpus_per_trial must be a number of CPUs above 0"),
        ({"cpus_per_trial": -1}, "got -1"),
        ({"cpus_per_trial": None}, "got None"),
    ],
)
def test_a_bad_resource_value_is_one_located_sentence(raw: dict, message: str) -> None:
    with pytest.raises(AfsearchError, match=message) as info:
        parse_space({**BASE, "resources": raw}, source="s.yaml")
    assert str(info.value).startswith("s.yaml: resources: ")


def test_resources_must_be_a_mapping() -> None:
    with pytest.raises(AfsearchError, match="s.yaml: resources: must be a mapping"):
        parse_space({**BASE, "resources": [1, 0.5]}, source="s.yaml")


def test_the_flags_override_the_space_one_value_at_a_time() -> None:
    space = parse_space({**BASE, "resources": {"cpus_per_trial": 2, "gpus_per_trial": 0.5}})
    assert with_overrides(space).resources == space.resources
    gpus = with_overrides(space, gpus_per_trial=1).resources
    assert (gpus.cpus_per_trial, gpus.gpus_per_trial) == (2.0, 1.0)
    cpus = with_overrides(space, cpus_per_trial=0.5).resources
    assert (cpus.cpus_per_trial, cpus.gpus_per_trial) == (0.5, 0.5)
    # The space itself is left as it was.
    assert space.resources.gpus_per_trial == 0.5


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"gpus_per_trial": -1}, "--gpus-per-trial must be 0, a fraction"),
        ({"gpus_per_trial": 2.5}, "--gpus-per-trial must be .* got 2.5"),
        ({"cpus_per_trial": 0}, r"--cpus-per-trial must be a number of CPUs above 0 .*, got 0\."),
    ],
)
def test_bad_flags_name_the_flag(flags: dict, message: str) -> None:
    with pytest.raises(AfsearchError, match=message):
        with_overrides(parse_space(BASE), **flags)


def test_the_task_override_keeps_the_resources() -> None:
    space = parse_space({**BASE, "resources": {"gpus_per_trial": 0.25}})
    assert with_overrides(space, task="digits-mlp").resources.gpus_per_trial == 0.25
