"""The interface every search strategy implements, and what it is told when it proposes.

A strategy turns a study's history into the next trial's activation and task values. It is
driven the same way by ``afsearch launch`` (Ray Tune asks, through Optuna's ask/tell) and by
:func:`afsearch.search.run_local` (no Ray): the driver asks Optuna for a trial, hands it to
:meth:`BaseStrategy.propose` with the :class:`History`, trains what comes back and tells Optuna
the result. Each strategy also names the Optuna sampler that draws the trial's parameters
(:meth:`BaseStrategy.sampler`) and checks the space's ``sampler_options`` when the space is
validated (:meth:`BaseStrategy.check`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from afsearch.domains import Where
from afsearch.exceptions import AfsearchError
from afsearch.search._history import Scored

if TYPE_CHECKING:
    import optuna

    from afsearch.space import SearchSpace


@dataclass(frozen=True)
class History:
    """What a strategy knows of its study when it proposes a trial.

    ``number`` is the proposal's Optuna trial number (skipped repeats and trials in flight are
    numbered too); ``started`` how many trials the study has started; ``scored`` its trials with
    a value, oldest first, signed so that higher is better; ``tried`` the activation configs it
    has trained or proposed, whatever their outcome.
    """

    number: int = 0
    started: int = 0
    scored: Sequence[Scored] = ()
    tried: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class Proposal:
    """One proposed trial: the activation config and the task values.

    ``remember`` says that the activation is not made of the Optuna trial's parameters (an
    evolved child, a prescreen's choice), so the driver stores it with the Optuna trial and a
    resumed study can run it again. ``params`` are the Optuna parameters a draft drew for it,
    which :meth:`BaseStrategy.choose` commits to the trial if this proposal is chosen.
    """

    activation: dict[str, Any]
    task_values: dict[str, Any] = field(default_factory=dict)
    remember: bool = False
    params: Mapping[str, Any] | None = None


class BaseStrategy(abc.ABC):
    """A search strategy (the space's ``sampler:``); concrete ones register in ``_registry``."""

    #: The name a space gives in ``sampler:``.
    name: ClassVar[str]
    #: One line for ``afsearch validate`` and the docs.
    description: ClassVar[str] = ""
    #: Whether the strategy optimises several objectives (the space's ``objectives:``).
    multi_objective: ClassVar[bool] = False
    #: Whether the prescreen ranks this strategy's proposals (a grid tries everything).
    can_prescreen: ClassVar[bool] = True
    #: Whether the prescreen chooses from its own pool instead of ranking proposals.
    prescreen_from_pool: ClassVar[bool] = False
    #: Whether :meth:`propose` reads the :class:`History` (the driver then reads the study's
    #: trials for every proposal; an Optuna sampler has its own record of them).
    uses_history: ClassVar[bool] = False

    def __init__(self, space: SearchSpace, seed: int) -> None:
        self.space = space
        self.seed = seed

    @classmethod
    def create(cls, space: SearchSpace, seed: int) -> BaseStrategy:
        """The strategy for ``space`` (a subclass may pick a variant, e.g. per site)."""
        return cls(space, seed)

    @classmethod
    def check(cls, space: SearchSpace) -> None:
        """Refuse what this strategy cannot search, naming the file and the key."""
        where = Where(space.source)
        if space.objectives and not cls.multi_objective:
            from afsearch.search._registry import multi_objective_names

            names = " or ".join(repr(n) for n in multi_objective_names())
            raise where.at("objectives").error(
                f"only sampler {names} optimises several objectives, and the sampler is "
                f"{cls.name!r}; set sampler: {multi_objective_names()[0]}, or give the one "
                "metric to optimise as metric: NAME."
            )
        if space.prescreen is not None and not cls.can_prescreen:
            raise where.at("prescreen").error(
                f"sampler {cls.name!r} tries every candidate, so there is nothing to "
                "prescreen; use another sampler or leave prescreen out."
            )
        try:
            cls.check_options(space.sampler_options)
        except AfsearchError as exc:
            raise where.at("sampler_options").error(str(exc)) from None

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """Refuse ``sampler_options`` the strategy does not take (none, by default)."""
        if options:
            raise AfsearchError(
                f"sampler {cls.name!r} takes no sampler_options, got {sorted(options)[0]!r}; "
                "leave sampler_options out."
            )

    @classmethod
    def num_samples(cls, space: SearchSpace) -> int:
        """How many trials a study of ``space`` can train (a grid: at most its size)."""
        return space.num_samples

    @abc.abstractmethod
    def sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        """The Optuna sampler that draws the trial's parameters (the task values at least)."""

    @abc.abstractmethod
    def propose(self, trial: Any, history: History) -> Proposal:
        """The next trial, drawn through ``trial`` (an Optuna trial, or any suggester)."""

    def proposals(self, trial: Any, history: History, n: int) -> list[Proposal]:
        """``n`` alternative proposals for the prescreen to rank, none recorded in the study:
        by default ``n`` drafts of the trial's sampler (:mod:`afsearch.search._drafts`)."""
        from afsearch.search._drafts import Draft
        from afsearch.space import sample_config

        drafts = [Draft(trial) for _ in range(n)]
        return [Proposal(sample_config(d, self.space)[0], params=d.params) for d in drafts]

    def choose(self, trial: Any, proposal: Proposal) -> Proposal:
        """Make ``trial`` the chosen one of :meth:`proposals`; the proposal it trains."""
        if proposal.params is None:
            return proposal
        from afsearch.search._optuna_seams import fix_params
        from afsearch.space import sample_config

        fix_params(trial, proposal.params)
        activation, task_values = sample_config(trial, self.space)
        return Proposal(activation, task_values)

    def summary(self) -> dict[str, Any] | None:
        """What the study stores of the strategy's own state (the prescreen's pool), if any."""
        return None

    def task_values(self, trial: Any) -> dict[str, Any]:
        """The task values of the space, drawn through ``trial``."""
        from afsearch.domains import suggest

        return {k: suggest(trial, f"task.{k}", v) for k, v in self.space.task_values.items()}
