"""Driving a strategy without Ray: Optuna's ask/tell in this process, an objective the caller
gives, the same distinct-function budget as a launch. For tests, benchmarks and notebooks.

>>> from afsearch.search import run_local
>>> run = run_local(space, lambda p: score(p.activation), budget=20)  # doctest: +SKIP
>>> run.best.activation  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from afsearch.search._base import History
from afsearch.search._budget import PATIENCE
from afsearch.search._history import Scored
from afsearch.search._registry import check_space, make_strategy

if TYPE_CHECKING:
    from afsearch.space import SearchSpace


@dataclass(frozen=True)
class LocalProposal:
    """What the objective trains: the activation config, the task values and the task settings
    they make, the activation's identity and the trial's number."""

    number: int
    activation: dict[str, Any]
    task_values: dict[str, Any]
    settings: Any
    activation_id: str
    key: str


@dataclass(frozen=True)
class LocalTrial:
    proposal: LocalProposal
    #: The objective's value; ``None`` when it gave none (diverged, failed).
    value: float | None

    @property
    def activation(self) -> dict[str, Any]:
        return self.proposal.activation


@dataclass
class LocalRun:
    """A local search: its trials in order (one per distinct function), the proposals that
    repeated a known function, and why it ended early if it did."""

    trials: list[LocalTrial] = field(default_factory=list)
    skipped: int = 0
    stop_reason: str | None = None
    mode: str = "max"

    @property
    def values(self) -> list[float | None]:
        return [t.value for t in self.trials]

    @property
    def best(self) -> LocalTrial | None:
        sign = 1.0 if self.mode == "max" else -1.0
        scored = [t for t in self.trials if t.value is not None]
        return max(scored, key=lambda t: sign * float(t.value or 0.0), default=None)


def run_local(
    space: SearchSpace,
    objective: Callable[[LocalProposal], float | None],
    *,
    budget: int | None = None,
    seed: int = 0,
    patience: int = PATIENCE,
) -> LocalRun:
    """Search ``space`` with its strategy for ``budget`` distinct functions (the space's
    ``num_samples`` by default), calling ``objective`` for each one in this process.

    A proposal of a function already tried costs nothing: the sampler is told the known value
    and draws again; ``patience`` such proposals in a row end the search, as in a launch.
    """
    import optuna

    from afsearch.activations import build_activation
    from afsearch.compiler import candidate_record
    from afsearch.space import task_settings
    from afsearch.trial import dedup_key

    check_space(space)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    strategy = make_strategy(space, seed)
    mode = str(space.objective_mode)
    study = optuna.create_study(
        directions=["maximize" if m == "max" else "minimize" for _, m in space.goals],
        sampler=strategy.sampler(seed),
    )
    run, streak = LocalRun(mode=mode), 0
    known: dict[str, float | None] = {}
    target = budget if budget is not None else strategy.num_samples(space)
    sign = 1.0 if mode == "max" else -1.0
    while len(run.trials) < target:
        if streak >= patience:
            run.stop_reason = f"{patience} proposals in a row repeated known functions"
            break
        trial = study.ask()
        history = _history(run, trial.number, sign)
        proposal = _enqueued(space, strategy, trial, len(run.trials)) or strategy.propose(
            trial, history
        )
        settings = task_settings(space, proposal.task_values)
        ident = str(candidate_record(build_activation(proposal.activation))["id"])
        key = dedup_key(ident, space.task, settings, space.seeds, seed)
        if key in known:
            value = known[key]
            run.skipped, streak = run.skipped + 1, streak + 1
        else:
            streak = 0
            local = LocalProposal(
                trial.number, proposal.activation, proposal.task_values, settings, ident, key
            )
            value = _finite(objective(local))
            known[key] = value
            run.trials.append(LocalTrial(local, value))
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value if len(space.goals) == 1 else [value] * len(space.goals))
    return run


def _history(run: LocalRun, number: int, sign: float) -> History:
    scored = [Scored(t.activation, sign * t.value) for t in run.trials if t.value is not None]
    return History(
        number=number,
        started=max(number, len(run.trials)),
        scored=scored,
        tried=[t.activation for t in run.trials],
    )


def _enqueued(space: SearchSpace, strategy: Any, trial: Any, done: int) -> Any:
    """The space's ``enqueue`` entries first, in order, as a launch trains them."""
    from afsearch.search._base import Proposal

    if done >= len(space.enqueue):
        return None
    activation = dict(space.enqueue[done])
    if space.per_site:
        from afsearch.activations import is_per_site, per_site_config

        if is_per_site(activation):
            return Proposal(activation, strategy.task_values(trial), remember=True)

        activation = per_site_config([activation] * space.sites)
    return Proposal(activation, strategy.task_values(trial), remember=True)


def _finite(value: Any) -> float | None:
    if isinstance(value, Mapping) or value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
