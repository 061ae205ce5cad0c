"""One entry of a space's ``families``: a family and the values its sampler chooses from."""

from __future__ import annotations

from dataclasses import dataclass, field

from afsearch.domains._values import Value


@dataclass
class FamilySpace:
    """``values`` by setting name; ``members`` are the sub-spaces of a structural family (an
    ensemble's members), each a FamilySpace itself."""

    label: str
    family: str
    values: dict[str, Value]
    members: list[FamilySpace] = field(default_factory=list)
