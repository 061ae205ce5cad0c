"""The ``confirm:`` key of a space: training the search's best again on fresh seeds.

``confirm: {top: 5, seeds: 10, against: [relu, gelu, silu, mish, elu, tanh]}`` (``true`` for these
defaults) makes ``afsearch launch`` end with a confirmation stage; see
``afsearch.confirm.confirm_study``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import KNOWN

#: The options of ``confirm:``, with their defaults.
DEFAULTS: Mapping[str, Any] = {
    "top": 5,
    "seeds": 10,
    "against": ("relu", "gelu", "silu", "mish", "elu", "tanh"),
}


@dataclass(frozen=True)
class ConfirmOptions:
    """How many of the search's best to confirm, on how many fresh seeds, against what."""

    top: int = 5
    seeds: int = 10
    against: tuple[str, ...] = ("relu", "gelu", "silu", "mish", "elu", "tanh")

    @classmethod
    def parse(cls, raw: Any) -> ConfirmOptions:
        """The options of ``confirm:`` (``true`` for the defaults), each checked."""
        if raw is True:
            raw = {}
        if not isinstance(raw, Mapping):
            raise AfsearchError(
                f"confirm must be true or a mapping of its options ({choices(DEFAULTS)}), "
                f"got {raw!r}."
            )
        unknown = sorted(str(k) for k in set(raw) - set(DEFAULTS))
        if unknown:
            raise AfsearchError(
                f"confirm has no option {unknown[0]!r}; its options are {choices(DEFAULTS)}."
            )
        merged = {**DEFAULTS, **raw}
        top, seeds = merged["top"], merged["seeds"]
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 1000:
            raise AfsearchError(f"top of confirm must be an integer from 1 to 1000, got {top!r}.")
        if isinstance(seeds, bool) or not isinstance(seeds, int) or not 2 <= seeds <= 1000:
            raise AfsearchError(
                f"seeds of confirm must be an integer from 2 to 1000 (a t-test needs two "
                f"values per side), got {seeds!r}."
            )
        against = merged["against"]
        if isinstance(against, str) or not isinstance(against, Sequence) or not against:
            raise AfsearchError(
                f"against of confirm must be a non-empty list of standard activations, "
                f"got {against!r}."
            )
        bad = [name for name in against if not isinstance(name, str) or name not in KNOWN]
        if bad:
            raise AfsearchError(
                f"against of confirm names {bad[0]!r}, which is not a standard activation; "
                f"valid names are {choices(KNOWN)}."
            )
        if len(set(against)) != len(against):
            raise AfsearchError(f"against of confirm names an activation twice: {against!r}.")
        return cls(top, seeds, tuple(against))

    def to_dict(self) -> dict[str, Any]:
        return {"top": self.top, "seeds": self.seeds, "against": list(self.against)}
