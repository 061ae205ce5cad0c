"""sampler_options are checked when the space is read: a keyword the sampler does not take,
or any option of a sampler that takes none, is one sentence naming what is valid."""

from __future__ import annotations

import pytest

from afsearch.exceptions import AfsearchError
from tests.helpers import checked_space


def _space(sampler: str, options: dict) -> dict:
    return {
        "task": {"name": "digits-mlp"},
        "sampler": sampler,
        "sampler_options": options,
        "families": [{"family": "swish", "beta": {"low": 0.5, "high": 2.0}}],
    }


@pytest.mark.parametrize(
    ("sampler", "options", "words"),
    [
        (
            "tpe",
            {"n_startup": 5},
            ["sampler 'tpe' has no option 'n_startup'", "'n_startup_trials'"],
        ),
        ("cmaes", {"sigma": 0.5}, ["sampler 'cmaes' has no option 'sigma'", "'sigma0'"]),
        ("tpe", {"seed": 3}, ["no option 'seed'"]),  # afsearch seeds the sampler itself
        ("random", {"n_startup_trials": 5}, ["sampler 'random' takes no sampler_options"]),
        ("evolution", {"populaton": 4}, ["no option 'populaton'"]),
    ],
)
def test_unknown_sampler_options_are_refused_by_validate(
    sampler: str, options: dict, words: list[str]
) -> None:
    with pytest.raises(AfsearchError) as info:
        checked_space(_space(sampler, options), "s.yaml")
    text = str(info.value)
    assert "sampler_options" in text
    for word in words:
        assert word in text


@pytest.mark.parametrize(
    ("sampler", "options"),
    [("tpe", {"n_startup_trials": 5, "multivariate": True}), ("cmaes", {"sigma0": 0.5})],
)
def test_the_options_a_sampler_takes_pass(sampler: str, options: dict) -> None:
    assert checked_space(_space(sampler, options), "s.yaml").sampler_options == options
