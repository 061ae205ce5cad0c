"""The candidate an activation's stored data names (a trial's config, a confirmation arm)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from afsearch.expr import PER_SITE, Candidate, SiteCandidates


def candidate_of(
    activation: Candidate | SiteCandidates | Mapping[str, Any],
) -> Candidate | SiteCandidates:
    """The candidate an activation's data names: a candidate's data (re-parsed through the
    allow-list parser), or a family config (one per site for a per-site config)."""
    from afsearch.activations import build_activation

    if isinstance(activation, (Candidate, SiteCandidates)):
        return activation
    if isinstance(activation, Mapping) and "expression" in activation:
        if activation.get("family") == PER_SITE:
            return SiteCandidates.from_dict(activation)
        return Candidate.from_dict(activation)
    return build_activation(activation)
