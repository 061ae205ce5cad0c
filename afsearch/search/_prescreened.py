"""The prescreen as a wrapper around any strategy that proposes (``prescreen:`` in a space).

Before anything is ranked, the prescreen's anchors train first. Then, for each trial, the
wrapped strategy proposes ``prescreen.proposals`` alternatives (TPE's drafts, evolution's
children) and the surrogate picks the one to train (:meth:`Prescreen.rank`); a strategy that
only draws at random (``prescreen_from_pool``) lets the surrogate choose from the prescreen's
own pool of candidates instead (:meth:`Prescreen.propose`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from afsearch.search._base import BaseStrategy, History, Proposal
from afsearch.search._prescreen import Prescreen

if TYPE_CHECKING:
    from afsearch.space import SearchSpace


class Prescreened(BaseStrategy):
    """``inner``'s proposals, ranked (or replaced) by a :class:`Prescreen`."""

    uses_history = True

    def __init__(self, inner: BaseStrategy, space: SearchSpace, seed: int) -> None:
        super().__init__(space, seed)
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.prescreen = Prescreen(space, seed)

    def sampler(self, seed: int) -> Any:
        return self.inner.sampler(seed)

    def propose(self, trial: Any, history: History) -> Proposal:
        tried = list(history.tried)
        if self.inner.prescreen_from_pool:
            choice = self.prescreen.propose(tried, history.scored)
            return Proposal(choice, self.inner.task_values(trial), remember=True)
        anchor = self.prescreen.anchor(tried)
        if anchor is not None:  # trained first, before anything is ranked
            return Proposal(anchor, self.inner.task_values(trial), remember=True)
        options = self.inner.proposals(trial, history, self.prescreen.options.proposals)
        ranked = self.prescreen.rank([p.activation for p in options], tried, history.scored)
        return self.inner.choose(trial, options[ranked])

    def summary(self) -> dict[str, Any] | None:
        return self.prescreen.summary() if self.prescreen.pool_drawn else None
