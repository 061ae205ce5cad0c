"""One confirmation's training: the runs of its stages (tuning, judging, recipes) trained with a
:data:`~afsearch.confirm.Runner`, each stored as it ends, stored runs reused."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afsearch.confirm._arms import BASELINE, CANDIDATE, Arm
from afsearch.confirm._judge import judge
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
from afsearch.confirm._seeds import Runner, SeedJob, SeedRun, fresh_seeds
from afsearch.confirm._stats import TESTS
from afsearch.space import ConfirmOptions
from afsearch.store import TrialStore, confirm_runs, trials
from afsearch.trial import ConfirmRunFinished, ConfirmStarted, LaunchObserver


@dataclass(frozen=True, eq=False)
class _Job:
    """What a confirmation run is for: its arm, the kind and name it is stored under, the
    learning-rate factor it trains with and the split that scores it."""

    arm: Arm
    kind: str
    name: str
    factor: float
    split: str


class Stage:
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
            train(self, todo, arms, len(jobs))
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


def train(stage: Stage, todo: Sequence[tuple[_Job, int]], arms: Sequence[Arm], total: int) -> None:
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
