"""A per-site activation: one candidate for each activation site of a network (PANGAEA evolves
one activation per layer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.expr._candidate import Candidate

#: The ``family`` a per-site activation is stored under.
PER_SITE = "per_site"


@dataclass(frozen=True)
class SiteCandidates:
    """The candidates of a network's activation sites, in the order the network calls
    ``make_activation``.

    >>> from afsearch.expr import X
    >>> s = SiteCandidates((Candidate(X), Candidate(2 * X)))
    >>> s.text
    'x; 2*x'
    """

    sites: tuple[Candidate, ...]

    def __post_init__(self) -> None:
        sites = tuple(self.sites)
        if not sites or not all(isinstance(c, Candidate) for c in sites):
            raise AfsearchError(
                f"A per-site activation needs one candidate per site, got {self.sites!r}."
            )
        object.__setattr__(self, "sites", sites)

    family = PER_SITE

    @property
    def text(self) -> str:
        return "; ".join(c.text for c in self.sites)

    @property
    def trainable(self) -> list[str]:
        """Trainable parameters as ``site<k>.<name>``."""
        return [f"site{k}.{n}" for k, c in enumerate(self.sites) for n in c.trainable]

    def with_values(self, values: Mapping[str, float]) -> SiteCandidates:
        """Each site with the values named ``site<k>.<name>`` in ``values``."""
        return SiteCandidates(
            tuple(
                c.with_values(
                    {
                        n[len(f"site{k}.") :]: v
                        for n, v in values.items()
                        if n.startswith(f"site{k}.")
                    }
                )
                for k, c in enumerate(self.sites)
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """The sites as data (each as :meth:`Candidate.to_dict`), read back by :meth:`from_dict`."""
        return {
            "expression": self.text,
            "family": PER_SITE,
            "sites": [c.to_dict() for c in self.sites],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SiteCandidates:
        sites = data.get("sites")
        if not isinstance(sites, Sequence) or isinstance(sites, str) or not sites:
            raise AfsearchError(
                "A stored per-site activation must have 'sites', a list of activations; "
                f"got {sites!r}."
            )
        return cls(tuple(Candidate.from_dict(s) for s in sites))
