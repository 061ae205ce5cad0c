"""The confirm stage of ``afsearch launch``: the search's best, trained again on fresh seeds
against standard activations.

A search picks its winner on one seed (or a few), so its best single result is partly luck (the
winner's curse). With ``confirm: {top: K, seeds: N, against: [...]}`` in the space, the K best
distinct candidates (by activation identity) and each baseline are trained on N seeds the
search never used, as Ray tasks in parallel, and each run is stored as it ends (a resumed study
trains only the runs that are missing). Each candidate is then compared with the best baseline
(the baseline with the best mean on those seeds): Welch's t-test, Holm's correction over the K
comparisons, the difference of means with its 95% interval. The candidate with the best mean is
the study's confirmed best (``store.study_best``).

>>> confirm_study(store, "demo", ConfirmOptions(top=2, seeds=5))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afsearch.confirm._seeds import Runner, SeedJob, SeedRun, fresh_seeds, run_here
from afsearch.confirm._stats import CONFIDENCE, difference_interval, holm, welch
from afsearch.exceptions import AfsearchError
from afsearch.space import ConfirmOptions
from afsearch.store import (
    BEST_STATUSES,
    StudyStatus,
    TrialRecord,
    TrialStore,
    VerdictRecord,
    confirm_runs,
    confirmation,
    get_study,
    trials,
)
from afsearch.trial import ConfirmRunFinished, ConfirmStarted, LaunchObserver, TrialSpec

CANDIDATE, BASELINE = "candidate", "baseline"


@dataclass(frozen=True)
class Arm:
    """One side of the confirmation: a candidate of the search (``arm`` its activation id) or a
    baseline (``arm`` its name), with the activation and task settings it trains with."""

    kind: str
    arm: str
    activation: Mapping[str, Any]
    settings: Any
    trial_id: int | None = None


@dataclass(frozen=True)
class ConfirmResult:
    """What a confirm stage did: its verdicts (as :func:`afsearch.store.confirmation` reads
    them), the fresh seeds, how many runs it trained and how many it found stored."""

    verdicts: list[VerdictRecord]
    seeds: list[int]
    trained: int
    reused: int


def confirm_study(
    store: TrialStore,
    study: str,
    options: ConfirmOptions,
    *,
    runner: Runner | None = None,
    observer: LaunchObserver | None = None,
) -> ConfirmResult:
    """Run (or continue) the confirmation of ``study``, training with ``runner`` (in this
    process by default; ``afsearch.orchestrator.ray_runner`` on Ray). ``observer`` is told when
    the stage starts and as each training ends.

    Its stages: :func:`plan` the arms and seeds, train the runs the database lacks (each
    stored as it ends), :func:`judge` the stored values, store the verdicts.
    """
    info = store.get_study(study)
    arms, seeds = plan(store, study, options)
    stored = {(r.kind, r.arm, r.seed) for r in confirm_runs(study, store)}
    jobs = [
        SeedJob(arm, arm.activation, seed, arm.settings, info.metric)
        for arm in arms
        for seed in seeds
        if (arm.kind, arm.arm, seed) not in stored
    ]
    store.set_study_status(study, StudyStatus.RUNNING)
    _train(store, study, arms, seeds, jobs, observer or LaunchObserver(), runner or run_here)
    values: dict[tuple[str, str], list[float]] = {(a.kind, a.arm): [] for a in arms}
    for r in confirm_runs(study, store):
        if (r.kind, r.arm) in values and r.seed in seeds and r.metric_value is not None:
            values[(r.kind, r.arm)].append(r.metric_value)
    verdicts = judge(
        [(a.arm, a.trial_id, values[(a.kind, a.arm)]) for a in arms if a.kind == CANDIDATE],
        [(a.arm, values[(a.kind, a.arm)]) for a in arms if a.kind == BASELINE],
        info.mode,
    )
    refused = refused_baselines(info.task, arms[0].settings, options.against)
    stored_options = {**options.to_dict(), "fresh_seeds": seeds}
    if refused:
        stored_options["refused"] = refused
    store.record_verdicts(study, verdicts, stored_options)
    store.set_study_status(study, StudyStatus.COMPLETED, finished=True)
    total = len(arms) * len(seeds)
    return ConfirmResult(confirmation(study, store), seeds, len(jobs), total - len(jobs))


def _train(
    store: TrialStore,
    study: str,
    arms: list[Arm],
    seeds: list[int],
    jobs: list[SeedJob],
    observer: LaunchObserver,
    runner: Runner,
) -> None:
    """Train ``jobs`` (keyed by their :class:`Arm`) with ``runner``, storing each run as it
    ends."""
    ids = {a.trial_id for a in arms if a.trial_id is not None}
    numbers = {t.id: t.number for t in trials(study, store) if t.id in ids}
    observer.confirm_started(
        ConfirmStarted(
            tuple(numbers[a.trial_id] for a in arms if a.trial_id is not None),
            tuple(a.arm for a in arms if a.kind == BASELINE),
            len(seeds),
            len(jobs),
            len(arms) * len(seeds),
        )
    )
    done = 0

    def keep(job: SeedJob, run: SeedRun) -> None:
        nonlocal done
        arm: Arm = job.key
        store.record_confirm_run(
            study,
            kind=arm.kind,
            arm=arm.arm,
            seed=run.seed,
            trial_id=arm.trial_id,
            metric_value=run.metric,
            metrics=run.test,
            diverged=run.diverged,
            duration_s=run.seconds,
        )
        done += 1
        name = arm.arm if arm.trial_id is None else f"#{numbers[arm.trial_id]}"
        observer.confirm_run_finished(
            ConfirmRunFinished(name, run.seed, run.metric, done, len(jobs))
        )

    runner(jobs, store.get_study(study).task, keep)


def plan(store: TrialStore, study: str, options: ConfirmOptions) -> tuple[list[Arm], list[int]]:
    """The arms of ``study``'s confirmation and its fresh seeds (none that its search used);
    an :class:`AfsearchError` when the study has fewer finished distinct candidates than
    ``options.top``."""
    chosen = top_distinct(store, study, options.top, "top of confirm")
    arms = [_candidate_arm(t) for t in chosen]
    used = {seed for t in chosen for seed in _spec(t).training_seeds}
    task = store.get_study(study).task
    left_out = refused_baselines(task, arms[0].settings, options.against)
    arms += [
        Arm(BASELINE, name, {"family": "standard", "name": name}, arms[0].settings)
        for name in options.against
        if name not in left_out
    ]
    return arms, fresh_seeds(options.seeds, avoid=used)


def refused_baselines(task: str, settings: Any, names: Sequence[str]) -> dict[str, str]:
    """The baselines of ``names`` that ``task`` refuses (a PINN refuses ReLU and ELU: their
    second derivatives jump), each with the task's sentence. The confirm stage leaves them out
    rather than fail on them, and stores the reasons with its options (``refused``)."""
    from afsearch.activations import build
    from afsearch.tasks import get_task

    t = get_task(task, settings)
    refused: dict[str, str] = {}
    if t.derivatives:
        for name in names:
            try:
                t.check_candidate(build({"family": "standard", "name": name}))
            except AfsearchError as exc:
                refused[name] = str(exc)
    return refused


def top_distinct(
    store: TrialStore | str | None, study: str, k: int, argument: str = "top"
) -> list[TrialRecord]:
    """The ``k`` best finished trials of ``study`` with distinct activations, best first by the
    search's metric; an :class:`AfsearchError` naming ``argument`` when it has fewer."""
    info = get_study(study, store)
    finished = [
        t
        for t in trials(study, store, status=[s.value for s in BEST_STATUSES])
        if t.metric_value is not None and t.activation_id
    ]
    sign = -1.0 if info.mode == "max" else 1.0
    finished.sort(key=lambda t: (sign * float(t.metric_value or 0.0), t.number))
    distinct: dict[str, TrialRecord] = {}
    for t in finished:
        distinct.setdefault(str(t.activation_id), t)
    if len(distinct) < k:
        raise AfsearchError(
            f"{argument} is {k}, but study {study!r} has only {len(distinct)} finished distinct "
            "candidates; lower it, or run more trials with "
            "`afsearch launch --resume --num-samples N`."
        )
    return list(distinct.values())[:k]


def _spec(t: TrialRecord) -> TrialSpec:
    return TrialSpec.from_dict(t.config or {})


def _candidate_arm(t: TrialRecord) -> Arm:
    """The arm of a search trial: its family config (it trains as the search trained it), or
    its stored candidate when the config has none."""
    cfg = t.config or {}
    activation = cfg.get("activation")
    if not activation and t.activation is not None:
        a = t.activation
        activation = {"expression": a.expression, "params": a.params, "family": a.family}
    return Arm(CANDIDATE, str(t.activation_id), activation or {}, _spec(t).settings, t.id)


def _stats(values: Sequence[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def judge(
    candidates: Sequence[tuple[str, int | None, Sequence[float]]],
    baselines: Sequence[tuple[str, Sequence[float]]],
    mode: str,
    alpha: float = 1 - CONFIDENCE,
) -> list[dict[str, Any]]:
    """The verdicts of a confirmation from its values (diverged runs left out), as
    :meth:`TrialStore.record_verdicts` stores them.

    Each candidate ``(arm, trial_id, values)`` faces the best baseline (best mean, by ``mode``):
    Welch's t-test, the difference of means (candidate minus baseline) with its interval, and
    Holm's correction over the candidates' p-values. A candidate is ``better`` or ``worse``
    when its corrected p is below ``alpha``, else a ``tie``; rank 1 is the best mean.
    """
    sign = -1.0 if mode == "max" else 1.0

    def order(mean: float | None) -> float:
        return math.inf if mean is None else sign * mean

    base = [(name, vals, *_stats(vals)) for name, vals in baselines]
    best = min(base, key=lambda b: order(b[2]), default=None)
    best_values: Sequence[float] = best[1] if best else []
    rows: list[dict[str, Any]] = []
    for arm, trial_id, vals in candidates:
        mean, std = _stats(vals)
        t, p = welch(vals, best_values)
        delta, low, high = difference_interval(vals, best_values)
        rows.append(
            {
                "kind": CANDIDATE,
                "arm": arm,
                "trial_id": trial_id,
                "n": len(vals),
                "mean": mean,
                "std": std,
                "baseline": best[0] if best else None,
                "delta": delta,
                "ci_low": low,
                "ci_high": high,
                "t": t,
                "p_value": p,
            }
        )
    for row, p_holm in zip(rows, holm([r["p_value"] for r in rows]), strict=True):
        row["p_holm"] = p_holm
        better = sign * row["delta"] < 0 if not math.isnan(row["delta"]) else False
        significant = not math.isnan(p_holm) and p_holm < alpha
        row["verdict"] = ("better" if better else "worse") if significant else "tie"
    # Rank 1, the confirmed best, needs a mean: a candidate that diverged on every seed has none.
    ranked = sorted((r for r in rows if r["mean"] is not None), key=lambda r: order(r["mean"]))
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
    rows += [
        {
            "kind": BASELINE,
            "arm": name,
            "n": len(vals),
            "mean": mean,
            "std": std,
            "verdict": "baseline",
        }
        for name, vals, mean, std in base
    ]
    return rows
