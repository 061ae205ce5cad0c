"""Activation families: each turns a config into a :class:`afsearch.expr.Candidate`.

A family owns its sub-space of a search space too: how its YAML entry is read, sampled,
enumerated for a grid and labelled (see :class:`BaseFamily`), so a new family is one module and
its registration.

>>> from afsearch.compiler import activation_id
>>> swish = build({"family": "swish", "beta": 1.0})
>>> activation_id(swish) == activation_id(build({"family": "grammar"}))  # x*sigmoid(x) twice
True
"""

from afsearch.activations import _ensemble, _grammar, _parametric, _slaf  # noqa: F401 (register)
from afsearch.activations._grammar import BINARY, MUTATIONS, UNARY
from afsearch.activations._registry import (
    BaseFamily,
    ParamSpec,
    build,
    family_grid,
    get_family,
    kind_of,
    label,
    list_families,
    mutate_family,
    mutate_value,
    parse_family_space,
    random_suggester,
    register_family,
    sample_family,
)
from afsearch.activations._replace import replace_activations
from afsearch.activations._sites import build_activation, is_per_site, per_site_config, site_configs
from afsearch.activations._slaf import BASES

__all__ = [
    "BASES",
    "BINARY",
    "MUTATIONS",
    "UNARY",
    "BaseFamily",
    "ParamSpec",
    "build",
    "build_activation",
    "family_grid",
    "get_family",
    "is_per_site",
    "kind_of",
    "label",
    "list_families",
    "mutate_family",
    "mutate_value",
    "parse_family_space",
    "per_site_config",
    "random_suggester",
    "register_family",
    "replace_activations",
    "sample_family",
    "site_configs",
]
