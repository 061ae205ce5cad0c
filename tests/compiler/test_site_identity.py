"""The identity of a per-site activation: the ordered tuple of its sites' identities."""

from __future__ import annotations

from afsearch.activations import build_activation, per_site_config
from afsearch.compiler import candidate_record

SILU = {"family": "standard", "name": "silu"}
SWISH_1 = {"family": "swish", "beta": 1.0}  # x*sigmoid(x): the same function as SiLU
GELU = {"family": "standard", "name": "gelu"}


def _id(*sites: dict) -> str:
    return str(candidate_record(build_activation(per_site_config(list(sites))))["id"])


def test_the_same_function_at_every_site_is_the_same_candidate():
    assert _id(SILU, GELU) == _id(SWISH_1, GELU)


def test_order_and_count_of_sites_matter():
    assert _id(SILU, GELU) != _id(GELU, SILU)
    assert _id(SILU, GELU) != _id(SILU, GELU, GELU)


def test_one_site_is_not_the_shared_activation():
    shared = candidate_record(build_activation(SILU))["id"]
    assert _id(SILU) != shared


def test_the_record_keeps_each_site_and_names_params_by_site():
    record = candidate_record(
        build_activation(per_site_config([{"family": "swish", "trainable": True}, GELU]))
    )
    assert record["family"] == "per_site"
    assert [s["id"] for s in record["sites"]] == [
        candidate_record(build_activation(c))["id"]
        for c in ({"family": "swish", "trainable": True}, GELU)
    ]
    assert list(record["params"]) == ["site0.beta"]
    assert record["expression"].count("; ") == 1
