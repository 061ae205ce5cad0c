"""The activation modules of a per-site trial: site k's candidate at the network's k-th site.

Each site is a :class:`~afsearch.orchestrator._speed.TrialActivations` of its own (its own
compile decision and cost); the trial reports the mean cost over the sites.
"""

from __future__ import annotations

from typing import Any

from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError
from afsearch.expr import SiteCandidates
from afsearch.orchestrator._speed import TrialActivations


class SiteActivations:
    """One :class:`TrialActivations` per site of ``candidates``; ``keys`` are the sites' ids."""

    def __init__(
        self,
        candidates: SiteCandidates,
        keys: list[str],
        compile_mode: str = "auto",
        derivatives: int = 0,
        device: str = "cpu",
    ) -> None:
        self.sites = [
            TrialActivations(c, key, compile_mode, derivatives, device)
            for c, key in zip(candidates.sites, keys)
        ]

    def make_at(self, site: int, channels: int | None = None) -> CompiledActivation:
        """The module of the network's site ``site`` (counted from 0 in call order)."""
        if site >= len(self.sites):
            raise AfsearchError(
                f"The task's network asked for activation site {site + 1}, and this per-site "
                f"trial has {len(self.sites)} sites; the network must build the same sites in "
                "every trial (per_site counts them once, on the driver)."
            )
        return self.sites[site].make(channels)

    def after_epoch(self, epoch: int, epoch_seconds: float | None, epochs: int) -> dict[str, Any]:
        reports = [s.after_epoch(epoch, epoch_seconds, epochs) for s in self.sites]
        return {k: sum(r[k] for r in reports) / len(reports) for k in reports[0]}
