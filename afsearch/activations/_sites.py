"""Per-site activation configs: ``{"family": "per_site", "sites": [config, ...]}``, one family
config per activation site of the task's network, built into a
:class:`~afsearch.expr.SiteCandidates`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from afsearch.activations._registry import build
from afsearch.exceptions import AfsearchError
from afsearch.expr import PER_SITE, Candidate, SiteCandidates


def is_per_site(config: Any) -> bool:
    """Whether ``config`` gives each activation site its own config."""
    return isinstance(config, Mapping) and config.get("family") == PER_SITE


def per_site_config(configs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The per-site config of these site configs, in site order."""
    return {"family": PER_SITE, "sites": [dict(c) for c in configs]}


def site_configs(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The family config of each site of a per-site config."""
    sites = config.get("sites")
    if not isinstance(sites, Sequence) or isinstance(sites, str) or not sites:
        raise AfsearchError(
            f"A per-site activation config must list one family config per site under "
            f"'sites', got {sites!r}."
        )
    for k, site in enumerate(sites):
        if not isinstance(site, Mapping) or is_per_site(site):
            raise AfsearchError(
                f"Site {k} of a per-site activation config must be a family config such as "
                f"{{family: swish}}, got {site!r}."
            )
    return [dict(s) for s in sites]


def build_activation(config: Mapping[str, Any]) -> Candidate | SiteCandidates:
    """A candidate from a family config, or one per site from a per-site config."""
    if is_per_site(config):
        return SiteCandidates(tuple(build(c) for c in site_configs(config)))
    return build(config)
