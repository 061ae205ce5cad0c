"""Replaying a search strategy on a table of trained functions: seconds instead of hours.

The strategy is the one a study uses (:func:`make_strategy` of a space over the table's own
families, the prescreen around it when asked), driven through Optuna's ask/tell as
:func:`run_local` drives it. Every proposal is mapped to a function of the table
(:class:`~afsearch.search._snap.Snapper`: the function itself when the table holds it, else the
nearest untried one of its family by the config's values), so a study proposes only functions
of the table, the budget counts distinct table functions, and a trial's result is a look-up:
the validation metric of one training seed (the repeat's: repeat ``r`` reads seed ``r`` modulo
the table's seeds, as a study's trials share its seed). The sampler is told that value at the
parameters it proposed; the history that evolution and the prescreen read holds the table
function it was mapped to, which is what was "trained". The prescreen reads the table's features
instead of computing them, and chooses from the table instead of drawing a pool.

With ``asha``, a trial stops as Ray Tune's ASHA would stop it (one bracket, trials in sequence):
at each rung its metric at that epoch must not fall below the top ``1/reduction_factor`` of the
values recorded there before it; a stopped trial is told to Optuna as pruned, after its
intermediate values, and costs the epochs it ran.

>>> frame, meta = read_table("activations.parquet")  # doctest: +SKIP
>>> table = ReplayTable.from_frame(frame, meta, "digits-mlp")  # doctest: +SKIP
>>> run = replay(table, replay_space(table, "tpe", budget=100), seed=0)  # doctest: +SKIP
>>> reached(run, table.top(0.01))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from afsearch.exceptions import AfsearchError
from afsearch.search._base import BaseStrategy, History, Proposal
from afsearch.search._budget import PATIENCE
from afsearch.search._history import Scored
from afsearch.search._snap import Snapper, config_key

if TYPE_CHECKING:
    import pandas as pd

    from afsearch.space import SearchSpace


@dataclass(frozen=True)
class ReplayTable:
    """The functions of a table trained on one task, with every training seed.

    ``values`` are the metric after the last epoch, one column per seed (NaN: diverged);
    ``curves`` the metric after each epoch (NaN after a divergence); ``features`` the prescreen's
    output features or why it screens the function out; ``init`` the same for the init signal.
    """

    task: str
    metric: str
    mode: str
    families: list[dict[str, Any]]
    configs: list[dict[str, Any]]
    ids: list[str]
    values: np.ndarray
    curves: np.ndarray
    features: list[np.ndarray | str]
    init: list[np.ndarray | str] | None = None
    epochs: int = 1

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, meta: Mapping[str, Any], task: str) -> ReplayTable:
        """The rows of ``task`` of a table read by :func:`read_table`; functions that lack a
        training seed another function has are left out."""
        import json

        rows = frame[frame["task"] == task]
        if rows.empty:
            tasks = ", ".join(sorted(frame["task"].unique()))
            raise AfsearchError(f"The table has no rows of task {task!r}; its tasks are {tasks}.")
        seeds = sorted(int(s) for s in rows["seed"].unique())
        epochs = int(rows["epochs"].max())
        by_function = {f: g.set_index("seed") for f, g in rows.groupby("function")}
        kept = [f for f in sorted(by_function) if len(by_function[f].index) == len(seeds)]
        values = np.full((len(kept), len(seeds)), np.nan)
        curves = np.full((len(kept), len(seeds), epochs), np.nan)
        configs, ids, features, init = [], [], [], []
        for i, f in enumerate(kept):
            g = by_function[f]
            first = g.iloc[0]
            configs.append(json.loads(first["config"]))
            ids.append(str(first["activation_id"]))
            features.append(_vector(first["features"], first["screen"]))
            init.append(_vector(first["init_ntk"], first["init_screen"]))
            for j, s in enumerate(seeds):
                values[i, j] = _number(g.loc[s, "value"])
                curve = np.asarray(g.loc[s, "curve"], dtype=float)
                curves[i, j, : len(curve)] = curve
        families = list(meta.get("families") or [])
        if not families:
            raise AfsearchError("The table's metadata names no families: make it again.")
        has_init = any(not isinstance(v, str) for v in init)
        first = rows.iloc[0]
        return cls(
            task,
            str(first["metric"]),
            str(first["mode"]),
            families,
            configs,
            ids,
            values,
            curves,
            features,
            init if has_init else None,
            epochs,
        )

    @property
    def sign(self) -> float:
        return 1.0 if self.mode == "max" else -1.0

    @property
    def truth(self) -> np.ndarray:
        """Each function's metric, the mean over its seeds, signed so that higher is better;
        ``-inf`` for a function that diverged on any seed."""
        mean = self.sign * self.values.mean(axis=1)
        return np.where(np.isnan(mean), -np.inf, mean)

    def top(self, share: float) -> set[int]:
        """The best ``share`` of the functions by :attr:`truth`: at least one, and every
        function tied with the last one in."""
        truth = self.truth
        k = max(1, math.ceil(share * len(truth)))
        cutoff = np.sort(truth)[::-1][k - 1]
        return {int(i) for i in np.flatnonzero(truth >= cutoff)}

    @property
    def keys(self) -> list[str]:
        return [config_key(c) for c in self.configs]


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _vector(value: Any, reason: Any) -> np.ndarray | str:
    if isinstance(reason, str) and reason:
        return reason
    if value is None:
        return "not measured"
    return np.asarray(value, dtype=float)


@dataclass(frozen=True)
class ReplayAsha:
    """Ray Tune's ASHA replayed in sequence: rungs at ``grace_period * reduction_factor**k``
    epochs below the last (afsearch's ``scheduler: asha`` uses a reduction factor of 3)."""

    grace_period: int = 1
    reduction_factor: int = 3

    def rungs(self, epochs: int) -> list[int]:
        out, t = [], self.grace_period
        while t < epochs:
            out.append(t)
            t *= self.reduction_factor
        return out


@dataclass(frozen=True)
class ReplayTrial:
    """One trial of a replay: the table row it trained, the value it was told (``None``:
    diverged), the epochs it ran, and whether it ran to the last epoch."""

    row: int
    value: float | None
    epochs: int
    completed: bool


@dataclass
class ReplayRun:
    trials: list[ReplayTrial] = field(default_factory=list)
    skipped: int = 0
    stop_reason: str | None = None


class _Snapped(BaseStrategy):
    """``inner``'s proposals mapped to table functions (drafts too, so the prescreen ranks
    table functions)."""

    uses_history = True

    def __init__(
        self, inner: BaseStrategy, snapper: Snapper, tried: np.ndarray, configs: Sequence[Any]
    ) -> None:
        super().__init__(inner.space, inner.seed)
        self.inner, self.snapper, self.tried, self.configs = inner, snapper, tried, configs
        self.name = inner.name  # type: ignore[misc]
        self.prescreen_from_pool = inner.prescreen_from_pool  # type: ignore[misc]

    def snap(self, proposal: Proposal) -> Proposal:
        row = self.snapper.snap(proposal.activation, self.tried)
        return dataclasses.replace(proposal, activation=dict(self.configs[row]))

    def sampler(self, seed: int) -> Any:
        return self.inner.sampler(seed)

    def propose(self, trial: Any, history: History) -> Proposal:
        return self.snap(self.inner.propose(trial, history))

    def proposals(self, trial: Any, history: History, n: int) -> list[Proposal]:
        return [self.snap(p) for p in self.inner.proposals(trial, history, n)]

    def choose(self, trial: Any, proposal: Proposal) -> Proposal:
        return self.snap(self.inner.choose(trial, proposal))

    def task_values(self, trial: Any) -> dict[str, Any]:
        return self.inner.task_values(trial)


def replay_space(
    table: ReplayTable,
    sampler: str,
    *,
    budget: int,
    sampler_options: Mapping[str, Any] | None = None,
    prescreen: Mapping[str, Any] | None = None,
) -> SearchSpace:
    """The space a replayed study searches: the table's families, ``sampler`` (``prescreen``
    alone is random search with the prescreen choosing), the prescreen's ``features`` limited
    to what the table holds."""
    from afsearch.space import parse_space

    base = sampler.split("+")[0]
    raw: dict[str, Any] = {
        "name": f"replay-{sampler.replace('+', '-')}",
        "task": {"name": table.task, "epochs": table.epochs},
        "sampler": "random" if base == "prescreen" else base,
        "scheduler": "none",
        "num_samples": budget,
        "families": [dict(f) for f in table.families],
    }
    if sampler_options:
        raw["sampler_options"] = dict(sampler_options)
    if "prescreen" in sampler:
        options = dict(prescreen or {})
        wanted = list(options.get("features", ["outputs"]))
        options["features"] = [f for f in wanted if f != "init" or table.init is not None]
        raw["prescreen"] = options
    return parse_space(raw, source=f"replay:{sampler}")


def _strategy(
    space: SearchSpace, seed: int, table: ReplayTable, snapper: Snapper, tried: np.ndarray
) -> BaseStrategy:
    from afsearch.search._prescreen import PrescreenPool
    from afsearch.search._prescreened import Prescreened
    from afsearch.search._registry import check_space, get_strategy

    check_space(space)
    inner = _Snapped(get_strategy(space.sampler).create(space, seed), snapper, tried, table.configs)
    if space.prescreen is None:
        return inner
    wrapped = Prescreened(inner, space, seed)
    screen = wrapped.prescreen
    # The table's features stand for the prescreen's own measurements, and its functions for
    # the pool the prescreen would draw.
    for i, key in enumerate(table.keys):
        screen._features[key] = table.features[i]
        if table.init is not None:
            screen._init[key] = table.init[i]
    screen._pool = PrescreenPool(
        configs=[c for c, v in zip(table.configs, table.features) if not isinstance(v, str)],
        vectors=[v for v in table.features if not isinstance(v, str)],
        draws=len(table.configs),
    )
    return wrapped


def replay(
    table: ReplayTable,
    space: SearchSpace,
    *,
    seed: int = 0,
    asha: ReplayAsha | None = None,
    patience: int = PATIENCE,
) -> ReplayRun:
    """One study of ``space`` (from :func:`replay_space`) replayed on ``table`` for the space's
    ``num_samples`` distinct table functions."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n = len(table.configs)
    tried = np.zeros(n, dtype=bool)
    snapper = Snapper(table.configs, seed)
    strategy = _strategy(space, seed, table, snapper, tried)
    study = optuna.create_study(
        direction="maximize" if table.mode == "max" else "minimize",
        sampler=strategy.sampler(seed),
    )
    column = seed % table.values.shape[1]
    rungs: dict[int, list[float]] = {r: [] for r in asha.rungs(table.epochs)} if asha else {}
    run, told = ReplayRun(), dict[int, float | None]()
    scored: list[Scored] = []
    configs: list[dict[str, Any]] = []
    streak = 0
    while len(run.trials) < min(space.num_samples, n):
        if streak >= patience:
            run.stop_reason = f"{patience} proposals in a row repeated known functions"
            break
        trial = study.ask()
        history = History(trial.number, max(trial.number, len(run.trials)), scored, configs)
        row = snapper.snap(strategy.propose(trial, history).activation, tried)
        if tried[row]:
            run.skipped, streak = run.skipped + 1, streak + 1
            known = told[row]
            if known is None:
                study.tell(trial, state=TrialState.FAIL)
            else:
                study.tell(trial, known)
            continue
        streak, tried[row] = 0, True
        got = _train(table.curves[row, column], table.values[row, column], table.sign, rungs, asha)
        if asha is not None:  # the samplers read intermediate values of pruned trials only
            for epoch, value in enumerate(table.curves[row, column, : got.epochs], start=1):
                if math.isfinite(value):
                    trial.report(float(value), epoch)
        if got.value is None:
            study.tell(trial, state=TrialState.FAIL)
        elif not got.completed:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, got.value)
        told[row] = got.value
        run.trials.append(dataclasses.replace(got, row=row))
        configs.append(table.configs[row])
        if got.value is not None:
            scored.append(Scored(table.configs[row], table.sign * got.value))
    return run


def _train(
    curve: np.ndarray,
    final: float,
    sign: float,
    rungs: dict[int, list[float]],
    asha: ReplayAsha | None,
) -> ReplayTrial:
    """One trial's look-up: its curve up to where it diverged or where ASHA stops it, else
    its ``final`` value."""
    epochs = len(curve)
    for epoch in range(1, epochs + 1):
        value = float(curve[epoch - 1])
        if not math.isfinite(value):
            return ReplayTrial(-1, None, epoch, False)
        if asha is not None and epoch in rungs:
            recorded = rungs[epoch]
            cutoff = (
                np.percentile(recorded, (1 - 1 / asha.reduction_factor) * 100) if recorded else None
            )
            recorded.append(sign * value)
            if cutoff is not None and sign * value < cutoff:
                return ReplayTrial(-1, value, epoch, False)
    if math.isnan(final):  # failed without a NaN in its curve
        return ReplayTrial(-1, None, epochs, False)
    return ReplayTrial(-1, float(final), epochs, True)


def reached(run: ReplayRun, rows: set[int]) -> int | None:
    """The number of the first trial that trained one of ``rows`` to its last epoch (1 for the
    first trial), or ``None`` within the run."""
    for i, t in enumerate(run.trials, start=1):
        if t.completed and t.row in rows:
            return i
    return None


def epochs_until(run: ReplayRun, trial: int) -> int:
    """Epochs the run's first ``trial`` trials trained, all together."""
    return sum(t.epochs for t in run.trials[:trial])


def regret(run: ReplayRun, table: ReplayTable) -> np.ndarray:
    """After each trial, how far the study's best is from the table's best function: the best
    :attr:`ReplayTable.truth` less the truth of the completed trial with the best value told so
    far (the function the study would report); NaN before the first completed trial."""
    truth = table.truth
    best = float(truth.max())
    out = np.full(len(run.trials), np.nan)
    incumbent, told = None, -math.inf
    for i, t in enumerate(run.trials):
        if t.completed and t.value is not None and table.sign * t.value > told:
            incumbent, told = t.row, table.sign * t.value
        if incumbent is not None:
            out[i] = best - truth[incumbent]
    return out
