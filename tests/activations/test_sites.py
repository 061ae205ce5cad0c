"""Per-site activation configs: one family config per activation site."""

from __future__ import annotations

import pytest

from afsearch.activations import (
    build,
    build_activation,
    is_per_site,
    label,
    per_site_config,
    site_configs,
)
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate, SiteCandidates

SWISH = {"family": "swish", "beta": 1.5, "trainable": True}
GELU = {"family": "standard", "name": "gelu"}


def test_a_per_site_config_builds_one_candidate_per_site_in_order():
    config = per_site_config([SWISH, GELU, SWISH])
    assert is_per_site(config) and not is_per_site(SWISH)
    built = build_activation(config)
    assert isinstance(built, SiteCandidates)
    assert [c.text for c in built.sites] == [build(SWISH).text, build(GELU).text, build(SWISH).text]
    assert built.trainable == ["site0.beta", "site2.beta"]
    assert isinstance(build_activation(SWISH), Candidate)


def test_site_values_go_to_their_site():
    built = build_activation(per_site_config([SWISH, SWISH]))
    assert isinstance(built, SiteCandidates)
    moved = built.with_values({"site1.beta": 0.25})
    assert [c.params["beta"].value for c in moved.sites] == [1.5, 0.25]


def test_the_stored_form_reads_back():
    built = build_activation(per_site_config([SWISH, GELU]))
    assert isinstance(built, SiteCandidates)
    back = SiteCandidates.from_dict(built.to_dict())
    assert [(c.text, c.params) for c in back.sites] == [(c.text, c.params) for c in built.sites]


def test_label_names_each_site():
    text = label(per_site_config([SWISH, GELU]), width=200)
    assert text.startswith("sites[swish(") and text.endswith("; standard(name=gelu)]")


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"family": "per_site"}, "must list one family config per site"),
        ({"family": "per_site", "sites": []}, "must list one family config per site"),
        ({"family": "per_site", "sites": ["relu"]}, "Site 0 .* must be a family config"),
        (
            {"family": "per_site", "sites": [SWISH, per_site_config([SWISH])]},
            "Site 1 .* must be a family config",
        ),
    ],
)
def test_bad_per_site_configs_get_a_sentence(config, fragment):
    with pytest.raises(AfsearchError, match=fragment):
        site_configs(config) if "sites" not in config else build_activation(config)
