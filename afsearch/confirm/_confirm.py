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

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afsearch.confirm._protocol import (
    RECIPE,
    TUNING,
    TUNING_SEED_BASE,
    choose_factor,
    recipe_settings,
    run_value,
    split_values,
    tuning_arm,
    with_lr_factor,
)
from afsearch.confirm._seeds import Runner, SeedJob, SeedRun, fresh_seeds, run_here
from afsearch.confirm._stats import CONFIDENCE, TESTS, center, choose_scale, compare, holm
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
    #: The seeds the search trained this candidate on (none for a baseline).
    search_seeds: tuple[int, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.arm)


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
    each stage starts and as each training ends.

    Its stages: :func:`plan` the arms and seeds; with ``lr_grid``, tune every arm's learning
    rate on the validation split (afsearch.confirm._protocol); train the judging runs the
    database lacks (each stored as it ends); :func:`judge` them on ``options.split``; train the
    winners and the best baseline again under each recipe; store the verdicts.
    """
    info = store.get_study(study)
    arms, seeds = plan(store, study, options)
    stage = _Stage(store, study, info, options, runner or run_here, observer or LaunchObserver())
    factors = stage.tune(arms, seeds) if options.lr_grid else {}
    values = stage.judging_values(arms, seeds, factors)
    scale = choose_scale(info.mode, [v for vals in values.values() for v in vals])
    verdicts = judge(
        [(a.arm, a.trial_id, values[(a.kind, a.arm)]) for a in arms if a.kind == CANDIDATE],
        [(a.arm, values[(a.kind, a.arm)]) for a in arms if a.kind == BASELINE],
        info.mode,
        scale=scale,
    )
    for row in verdicts:
        arm = next(a for a in arms if a.arm == row["arm"] and a.kind == row["kind"])
        row["extra"] = {
            "lr_factor": factors.get(arm.key, 1.0),
            "scale": scale,
            "test": TESTS[scale],
            "split": options.split,
        }
    verdicts += stage.recipes(arms, seeds, factors, verdicts, scale)
    refused = refused_baselines(info.task, arms[0].settings, options.against)
    stored_options = {**options.to_dict(), "fresh_seeds": seeds}
    if refused:
        stored_options["refused"] = refused
    store.record_verdicts(study, verdicts, stored_options)
    store.set_study_status(study, StudyStatus.COMPLETED, finished=True)
    return ConfirmResult(confirmation(study, store), seeds, stage.trained, stage.reused)


@dataclass(frozen=True, eq=False)
class _Job:
    """What a confirmation run is for: its arm, the kind and name it is stored under, the
    learning-rate factor it trains with and the split that scores it."""

    arm: Arm
    kind: str
    name: str
    factor: float
    split: str


class _Stage:
    """One confirmation's training: runs stored as they end, stored runs reused."""

    def __init__(
        self,
        store: TrialStore,
        study: str,
        info: Any,
        options: ConfirmOptions,
        runner: Runner,
        observer: LaunchObserver,
    ) -> None:
        self.store, self.study, self.info, self.options = store, study, info, options
        self.runner, self.observer = runner, observer
        self.trained = self.reused = 0

    def stored(self) -> dict[tuple[str, str, int], Any]:
        return {(r.kind, r.arm, r.seed): r for r in confirm_runs(self.study, self.store)}

    def run(self, jobs: Sequence[tuple[_Job, int]], arms: Sequence[Arm]) -> dict[Any, Any]:
        """Train the ``(job, seed)`` pairs the database lacks (or holds with another factor);
        every pair's stored value on its split, ``None`` where it diverged."""
        stored = self.stored()

        def usable(job: _Job, seed: int) -> bool:
            row = stored.get((job.kind, job.name, seed))
            return row is not None and (row.metrics or {}).get("lr_factor", 1.0) == job.factor

        todo = [(job, seed) for job, seed in jobs if not usable(job, seed)]
        self.reused += len(jobs) - len(todo)
        self.trained += len(todo)
        if todo:
            _train(self, todo, arms, len(jobs))
        stored = self.stored()
        return {(job, seed): stored[(job.kind, job.name, seed)].metric_value for job, seed in jobs}

    def tune(self, arms: Sequence[Arm], seeds: Sequence[int]) -> dict[tuple[str, str], float]:
        """Every arm's learning-rate factor, the best mean on the validation split over the
        tuning seeds."""
        grid = self.options.lr_grid or (1.0,)
        used = set(seeds) | {s for a in arms for s in a.search_seeds}
        tuning = fresh_seeds(self.options.tuning_seeds, TUNING_SEED_BASE, avoid=used)
        jobs = [
            (_Job(arm, TUNING, tuning_arm(arm.arm, f), f, "val"), seed)
            for arm in arms
            for f in grid
            for seed in tuning
        ]
        values = self.run(jobs, arms)
        chosen = {}
        for arm in arms:
            per = {
                f: [values[(j, s)] for j, s in jobs if j.arm is arm and j.factor == f] for f in grid
            }
            chosen[arm.key] = choose_factor(per, self.info.mode).factor
        return chosen

    def judging_values(
        self, arms: Sequence[Arm], seeds: Sequence[int], factors: Mapping[tuple[str, str], float]
    ) -> dict[tuple[str, str], list[float]]:
        """Every arm's values on the judging seeds and split (diverged runs left out)."""
        split = self.options.split
        jobs = [
            (_Job(arm, arm.kind, arm.arm, factors.get(arm.key, 1.0), split), seed)
            for arm in arms
            for seed in seeds
        ]
        values = self.run(jobs, arms)
        out: dict[tuple[str, str], list[float]] = {(a.kind, a.arm): [] for a in arms}
        for (job, _), value in values.items():
            if value is not None:
                out[(job.arm.kind, job.arm.arm)].append(value)
        return out

    def recipes(
        self,
        arms: Sequence[Arm],
        seeds: Sequence[int],
        factors: Mapping[tuple[str, str], float],
        verdicts: Sequence[Mapping[str, Any]],
        scale: str,
    ) -> list[dict[str, Any]]:
        """The verdicts of each winner against the best baseline under each extra recipe."""
        winners = [
            v["arm"] for v in verdicts if v["kind"] == CANDIDATE and v["verdict"] == "better"
        ]
        base_name = next((v["baseline"] for v in verdicts if v.get("baseline")), None)
        if not self.options.recipes or not winners or base_name is None:
            return []
        chosen = [
            a for a in arms if a.arm in winners or (a.kind == BASELINE and a.arm == base_name)
        ]
        rows: list[dict[str, Any]] = []
        for i, recipe in enumerate(self.options.recipes):
            recipe_arms = [
                dataclasses.replace(a, settings=recipe_settings(a.settings, recipe)) for a in chosen
            ]
            jobs = [
                (_Job(a, RECIPE, f"{i}:{a.arm}", 1.0, self.options.split), seed)
                for a in recipe_arms
                for seed in seeds
            ]
            values = self.run(jobs, recipe_arms)
            per = {a.arm: [values[(j, s)] for j, s in jobs if j.arm is a] for a in recipe_arms}
            got = {k: [v for v in vals if v is not None] for k, vals in per.items()}
            judged = judge(
                [
                    (f"{i}:{a.arm}", a.trial_id, got[a.arm])
                    for a in recipe_arms
                    if a.kind == CANDIDATE
                ],
                [(f"{i}:{base_name}", got[base_name])],
                self.info.mode,
                scale=scale,
            )
            for row in judged:
                row["extra"] = {"recipe": recipe["name"], "recipe_index": i, "role": row["kind"],
                                "scale": scale, "test": TESTS[scale]}  # fmt: skip
                row["kind"] = RECIPE
                row.pop("rank", None)
            rows += judged
        return rows


def _train(
    stage: _Stage, todo: Sequence[tuple[_Job, int]], arms: Sequence[Arm], total: int
) -> None:
    """Train ``todo`` with the stage's runner, storing each run as it ends."""
    ids = {a.trial_id for a in arms if a.trial_id is not None}
    numbers = {t.id: t.number for t in trials(stage.study, stage.store) if t.id in ids}
    stage.observer.confirm_started(
        ConfirmStarted(
            tuple(numbers[a.trial_id] for a in arms if a.trial_id is not None),
            tuple(a.arm for a in arms if a.kind == BASELINE),
            len({seed for _, seed in todo}),
            len(todo),
            total,
        )
    )
    done = 0
    metric, task = stage.info.metric, stage.info.task

    def keep(seed_job: SeedJob, run: SeedRun) -> None:
        nonlocal done
        job: _Job = seed_job.key
        value = run_value(run, metric, job.split, task)
        stage.store.record_confirm_run(
            stage.study,
            kind=job.kind,
            arm=job.name,
            seed=run.seed,
            trial_id=job.arm.trial_id,
            metric_value=value,
            metrics={**split_values(run), "lr_factor": job.factor, "split": job.split},
            diverged=run.diverged,
            duration_s=run.seconds,
        )
        done += 1
        tid = job.arm.trial_id
        name = job.name if tid is None else f"#{numbers[tid]}" + job.name[len(job.arm.arm) :]
        stage.observer.confirm_run_finished(
            ConfirmRunFinished(name, run.seed, value, done, len(todo))
        )

    seed_jobs = [
        SeedJob(job, job.arm.activation, seed, with_lr_factor(job.arm.settings, job.factor), metric)
        for job, seed in todo
    ]
    stage.runner(seed_jobs, task, keep)


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
    spec = _spec(t)
    return Arm(
        CANDIDATE,
        str(t.activation_id),
        activation or {},
        spec.settings,
        t.id,
        tuple(spec.training_seeds),
    )


def judge(
    candidates: Sequence[tuple[str, int | None, Sequence[float]]],
    baselines: Sequence[tuple[str, Sequence[float]]],
    mode: str,
    alpha: float = 1 - CONFIDENCE,
    *,
    scale: str = "linear",
) -> list[dict[str, Any]]:
    """The verdicts of a confirmation from its values (diverged runs left out), as
    :meth:`TrialStore.record_verdicts` stores them.

    Each candidate ``(arm, trial_id, values)`` faces the best baseline (best mean, by ``mode``):
    Welch's t-test, the difference of means (candidate minus baseline) with its interval, and
    Holm's correction over the candidates' p-values. A candidate is ``better`` or ``worse``
    when its corrected p is below ``alpha``, else a ``tie``; rank 1 is the best mean. On the
    ``log`` scale (positive errors, :func:`~afsearch.confirm._stats.choose_scale`) the means
    are geometric, ``delta`` and its interval are the ratio of geometric means, and the test
    is Welch's on the logs.
    """
    sign = -1.0 if mode == "max" else 1.0

    def order(mean: float | None) -> float:
        return math.inf if mean is None else sign * mean

    base = [(name, vals, *center(vals, scale)) for name, vals in baselines]
    best = min(base, key=lambda b: order(b[2]), default=None)
    best_values: Sequence[float] = best[1] if best else []
    rows: list[dict[str, Any]] = []
    effects: list[float] = []
    for arm, trial_id, vals in candidates:
        mean, std = center(vals, scale)
        result = compare(vals, best_values, scale)
        effects.append(result.pop("effect"))
        rows.append(
            {
                "kind": CANDIDATE,
                "arm": arm,
                "trial_id": trial_id,
                "n": len(vals),
                "mean": mean,
                "std": std,
                "baseline": best[0] if best else None,
                **result,
            }
        )
    for row, effect, p_holm in zip(rows, effects, holm([r["p_value"] for r in rows]), strict=True):
        row["p_holm"] = p_holm
        better = sign * effect < 0 if not math.isnan(effect) else False
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
