"""Orchestration overhead and throughput of ``afsearch launch`` on this machine.

For studies of trials that train for about 1 s and about 10 s, it measures

- the share of trial wall time spent outside training: for each trial, 1 - (seconds the task
  spent in its epochs) / (trial wall time from the driver's start record to its finish record);
- the share for the whole study: 1 - (sum of training seconds / concurrency) / study wall time,
  which also counts Ray start-up, scheduling gaps and the database writes;
- trials per minute with 1 and with 2 concurrent trials.

The trials train a fixed-size MLP on synthetic data for a fixed number of epochs whose length is
calibrated first, so "training" is real torch work on one thread. Run:

    python benchmarks/bench_orchestration.py            # 1 s and 10 s trials, 1 and 2 at once
    python benchmarks/bench_orchestration.py --quick    # 1 s trials only
    python benchmarks/bench_orchestration.py --checkpoint-every 0   # no trial checkpoints

By default trials save their training state after every epoch (``checkpoint_every: 1``,
``checkpoint_min_seconds: 0``), the most a space can ask for; a launch with the shipped
defaults saves no more than once per 30 s, so these trials would save nothing.
``--checkpoint-every 0`` measures the same studies without checkpoints.

``--vs-optuna`` measures ``launch`` against a plain Optuna loop instead: ``study.optimize`` with
``n_jobs=2`` on the same task, the same candidates (``sample_config`` of the same space) and the
same TPE sampler, each trial training in the loop's own threads. Two studies of 20 trials: the
quickstart space (digits-mlp, trials of about 0.3 s) and mnist1d-mlp (about 2 s), both without
a scheduler and without replaying repeats, so both sides train the same 20 trials. Every run is
a fresh process (Ray's start-up counts); with ``--before DIR`` (a ``git worktree`` of earlier
code, imported through ``PYTHONPATH``; ``--after DIR`` likewise for the launch measured) the
earlier launch runs too, the three taking turns
round by round (``--rounds``), and the table gives medians and the ratios of medians.

``--timeline FILE`` shows where a 20-trial quickstart launch spends its time: it starts Ray
itself (timed), launches, writes Ray's timeline (``ray.timeline``, a Chrome trace: open it in
``chrome://tracing`` or Perfetto) to FILE before Ray shuts down, and prints the phases seen from
the driver (launch called, first trial started, trials, last trial finished, launch returned)
and the busiest kinds of event on the workers (actor creation, ``train``, ``reset``...).

The space names its task ``bench_orchestration:TimedTask``: the driver imports this file as
``bench_orchestration`` (its folder is on ``sys.path``), and the Ray instance started here ships
it and ``_common.py`` to the workers as ``py_modules``, as ``launch`` does for a task module
beside a space file. ``--json PATH`` also writes the results to a file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import _common
import torch
from _common import Stopwatch, arguments, set_threads, table, workdir, write_json
from torch import nn

from afsearch.activations import build
from afsearch.compiler import CompiledActivation
from afsearch.orchestrator import launch
from afsearch.store import epochs, trials
from afsearch.tasks import BaseTask, TaskData, TaskSettings


class TimedTask(BaseTask):
    """Synthetic regression whose epochs take ``options['epoch_seconds']`` of real training."""

    name = "bench-timed"
    description = "benchmark task: fixed-length epochs of MLP training"
    metric = "val_loss"
    mode = "min"
    problem = "regression"
    default_settings = TaskSettings(
        epochs=5, batch_size=256, lr=1e-3, options={"batches_per_epoch": 40}
    )

    def build_data(self, seed: int) -> TaskData:
        g = torch.Generator().manual_seed(seed)
        n = 256 * int(self.options["batches_per_epoch"])
        x = torch.randn(n + 512, 64, generator=g)
        y = torch.sin(x[:, :1]) + 0.1 * x[:, 1:2]
        return TaskData(x[:n], y[:n], x[n : n + 256], y[n : n + 256], x[n + 256 :], y[n + 256 :])

    def build_model(self, make_activation: Any) -> nn.Module:
        return nn.Sequential(
            nn.Linear(64, 256),
            make_activation(),
            nn.Linear(256, 256),
            make_activation(),
            nn.Linear(256, 1),
        )


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


def calibrate(target_epoch_s: float) -> int:
    """Batches per epoch that make one epoch last about ``target_epoch_s`` on one thread."""
    set_threads(1)
    task = TimedTask(TaskSettings(epochs=3, batch_size=256, options={"batches_per_epoch": 20}))
    act = build({"family": "swish"})
    # The task's own epoch timer, after the first epoch (which also builds the data).
    seconds = [
        r.metrics["epoch_seconds"] for r in task.fit(lambda: CompiledActivation(act), seed=0)
    ][1:]
    per_batch = min(seconds) / 20
    return max(1, round(target_epoch_s / per_batch))


def run_study(
    trial_s: float, concurrency: int, n: int, workdir: Path, checkpoint_every: int = 1
) -> dict[str, Any]:
    import yaml

    epochs_per_trial = 5
    batches = calibrate(trial_s / epochs_per_trial)
    space = {
        "task": {
            "name": "bench_orchestration:TimedTask",
            "epochs": epochs_per_trial,
            "options": {"batches_per_epoch": batches},
        },
        "scheduler": "none",
        "sampler": "random",
        "num_samples": n,
        "max_concurrent": concurrency,
        "checkpoint_every": checkpoint_every,
        "checkpoint_min_seconds": 0,
        "families": [{"family": "swish", "beta": {"low": 0.5, "high": 2.0}}],
    }
    path = workdir / f"space-{trial_s}-{concurrency}.yaml"
    path.write_text(yaml.safe_dump(space))
    url = f"sqlite:///{workdir / 'bench.db'}"
    study = f"t{trial_s}-c{concurrency}"
    # Ray starts once, before the clock: its start-up is reported on its own.
    clock = Stopwatch()
    launch(
        path,
        study=study,
        url=url,
        runs_dir=workdir / "runs",
        num_cpus=2,
        reuse=False,
    )
    wall = clock.seconds
    rows = trials(study, url)
    shares, train_total = [], 0.0
    for t in rows:
        train = sum(e.metrics.get("epoch_seconds", 0.0) for e in epochs(t.id, url))
        assert t.finished_at is not None
        trial_wall = (t.finished_at - t.started_at).total_seconds()
        train_total += train
        shares.append(1 - train / trial_wall)
    shares.sort()
    return {
        "trial_seconds": trial_s,
        "concurrency": concurrency,
        "checkpoint_every": checkpoint_every,
        "trials": len(rows),
        "study_wall_s": wall,
        "per_trial_overhead_median": shares[len(shares) // 2],
        "study_overhead": 1 - (train_total / concurrency) / wall,
        "trials_per_minute": 60 * len(rows) / wall,
    }


#: The studies of ``--vs-optuna``: the space's changes to the quickstart space.
VS_OPTUNA: dict[str, dict[str, Any]] = {
    "quickstart": {},
    "mnist1d-mlp": {"task": {"name": "mnist1d-mlp"}},
}


def vs_space(case: str, n: int) -> Any:
    """The quickstart space with ``case``'s changes, ``n`` trials, no scheduler."""
    from afsearch.search import check_space
    from afsearch.space import load_space, parse_space

    path = _common.ROOT / "search_spaces" / "quickstart.yaml"
    raw = dict(load_space(path).raw)
    raw.update(VS_OPTUNA[case], scheduler="none", num_samples=n, name=f"vs-{case}")
    raw.pop("grace_period", None)
    space = parse_space(raw, source=f"{path} (vs-{case})")
    check_space(space)
    return space


def one_launch(case: str, n: int, tmp: Path) -> dict[str, Any]:
    """Seconds of ``launch`` (Ray's start included) for the study ``case``."""
    from afsearch.orchestrator import LaunchObserver

    class Clock(LaunchObserver):
        ray_s = 0.0

        def ray_started(self, seconds: float) -> None:
            Clock.ray_s = seconds

    space = vs_space(case, n)
    clock = Stopwatch()
    launch(
        space,
        url=f"sqlite:///{tmp / 'vs.db'}",
        runs_dir=tmp / "runs",
        num_cpus=2,
        max_concurrent=2,
        reuse=False,
        observer=Clock(),
    )
    wall = clock.seconds
    return {
        "wall_s": wall,
        "ray_start_s": Clock.ray_s,
        "trials": len(trials(space.name, f"sqlite:///{tmp / 'vs.db'}")),
    }


def timeline(path: Path, n: int) -> dict[str, Any]:
    """One quickstart launch of ``n`` trials with Ray started here; Ray's timeline to ``path``,
    and the phases the driver saw, in seconds from the start."""
    import collections
    import json
    import time

    import ray

    from afsearch.orchestrator import LaunchObserver, init_ray

    start = time.perf_counter()
    marks: dict[str, float] = {}
    starts: list[float] = []
    ends: list[float] = []

    class Marks(LaunchObserver):
        def trial_started(self, event: Any) -> None:
            starts.append(time.perf_counter() - start)

        def trial_finished(self, event: Any) -> None:
            ends.append(time.perf_counter() - start)

    started = init_ray(None, 2, None)
    marks["ray started"] = time.perf_counter() - start
    try:
        with workdir() as tmp:
            launch(
                vs_space("quickstart", n),
                url=f"sqlite:///{tmp / 'tl.db'}",
                runs_dir=tmp / "runs",
                max_concurrent=2,
                reuse=False,
                observer=Marks(),
            )
        marks["launch returned"] = time.perf_counter() - start
        events = ray.timeline(filename=None)
        path.write_text(json.dumps(events))
    finally:
        if started:
            ray.shutdown()
    if starts:
        marks["first trial started"] = min(starts)
    if ends:
        marks["last trial finished"] = max(ends)
    busy: dict[str, float] = collections.defaultdict(float)
    counts: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("ph") == "X":
            name = str(e.get("name", "?")).split("::")[-1]
            busy[name] += float(e.get("dur", 0.0)) / 1e6
            counts[name] += 1
    top = sorted(busy.items(), key=lambda kv: -kv[1])[:15]
    return {
        "trials": n,
        "marks": dict(sorted(marks.items(), key=lambda kv: kv[1])),
        "trial_starts": starts,
        "trial_ends": ends,
        "worker_seconds": {k: [round(v, 3), counts[k]] for k, v in top},
    }


def one_optuna(case: str, n: int) -> dict[str, Any]:
    """Seconds of a plain Optuna loop over the same space: ``optimize(n_jobs=2)``, TPE, each
    trial building the candidate and training it with the task (data built once per settings
    and thread)."""
    import threading

    import optuna

    from afsearch.search import make_strategy
    from afsearch.space import sample_config, task_settings
    from afsearch.tasks import get_task

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = vs_space(case, n)
    local = threading.local()

    def objective(trial: Any) -> float:
        torch.set_num_threads(1)
        activation, values = sample_config(trial, space)
        settings = task_settings(space, values)
        tasks = local.__dict__.setdefault("tasks", {})
        key = repr(settings)
        task = tasks[key] = tasks.get(key) or get_task(space.task, settings)
        candidate = build(activation)
        last = None
        for result in task.fit(lambda: CompiledActivation(candidate, fold=True), seed=0):
            last = result
        assert last is not None
        return float(last.metrics[task.metric])

    up = str(space.mode) == "max"
    direction = optuna.study.StudyDirection.MAXIMIZE if up else optuna.study.StudyDirection.MINIMIZE
    clock = Stopwatch()
    study = optuna.create_study(direction=direction, sampler=make_strategy(space, 0).sampler(0))
    study.optimize(objective, n_trials=n, n_jobs=2, catch=(Exception,))
    return {"wall_s": clock.seconds, "trials": len(study.trials)}


def vs_optuna(args: Any) -> None:
    """Run the three sides in turns, each in a fresh process; print medians and ratios."""
    import json
    import statistics
    import subprocess
    import sys

    here = Path(__file__).resolve()
    after = str(Path(args.after).resolve()) if args.after else str(_common.ROOT)
    sides: dict[str, str | None] = {"optuna": None}
    if args.before:
        sides["before"] = str(Path(args.before).resolve())
    for named in args.side or []:
        label, _, folder = named.partition("=")
        sides[label] = str(Path(folder).resolve())
    sides["launch"] = after
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in range(args.rounds):
        for case in args.cases or list(VS_OPTUNA):
            for side, code in sides.items():
                with workdir() as tmp:
                    out = tmp / "one.json"
                    kind = "optuna" if code is None else "launch"
                    env = {**os.environ, "PYTHONPATH": code or after}
                    subprocess.run(
                        [sys.executable, str(here), "--one", kind, "--case", case,
                         "--trials", str(args.trials), "--out", str(out)],
                        env=env, cwd=tmp, check=True,
                    )  # fmt: skip
                    result = json.loads(out.read_text())
                runs.setdefault(case, {}).setdefault(side, []).append(result)
                _common.log(f"round {r + 1} {case} {side}: {result['wall_s']:.1f} s")
    rows, summary = [], {}
    for case, by_side in runs.items():
        med = {s: statistics.median(x["wall_s"] for x in v) for s, v in by_side.items()}
        # Ratios round by round (the sides of one round ran back to back), then their median.
        per_round = {
            s: [a["wall_s"] / b["wall_s"] for a, b in zip(v, by_side["optuna"], strict=True)]
            for s, v in by_side.items()
            if s != "optuna"
        }
        summary[case] = {"median_s": med, "ratio_per_round": per_round, "runs": by_side}
        for s in per_round:
            ray_s = statistics.median(x["ray_start_s"] for x in by_side[s])
            rr = per_round[s]
            rows.append(
                [case, s, f"{med[s]:.1f}", f"{med['optuna']:.1f}",
                 f"{med[s] / med['optuna']:.2f}", f"{min(rr):.2f}-{max(rr):.2f}", f"{ray_s:.1f}"]
            )  # fmt: skip
    headers = ["study", "side", "launch s", "optuna s", "ratio", "per round", "ray start s"]
    print(f"{args.trials} trials, {args.rounds} rounds, medians; {os.cpu_count()} CPUs")
    print(table(headers, rows, align="llrrrrr"))
    if args.json:
        write_json(args.json, {"trials": args.trials, "rounds": args.rounds, "studies": summary})


def main() -> None:
    parser = arguments(__doc__, quick="1 s trials only", json="also write the results to this file")
    parser.add_argument(
        "--checkpoint-every", type=int, default=1, help="epochs between checkpoints (0: none)"
    )
    parser.add_argument("--vs-optuna", action="store_true", help="launch against plain Optuna")
    parser.add_argument("--before", help="a worktree of earlier code, measured too (--vs-optuna)")
    parser.add_argument(
        "--side", action="append", metavar="NAME=DIR", help="more code to launch (--vs-optuna)"
    )
    parser.add_argument("--after", help="the code measured as launch (default: this checkout)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --vs-optuna")
    parser.add_argument(
        "--cases", nargs="+", choices=list(VS_OPTUNA), help="studies of --vs-optuna (default all)"
    )
    parser.add_argument("--trials", type=int, default=20, help="trials of each --vs-optuna study")
    parser.add_argument("--timeline", type=Path, metavar="FILE", help="Ray timeline of a launch")
    parser.add_argument("--one", choices=["launch", "optuna"], help=argparse_hidden())
    parser.add_argument("--case", choices=list(VS_OPTUNA), help=argparse_hidden())
    parser.add_argument("--out", type=Path, help=argparse_hidden())
    args = parser.parse_args()
    if args.one:
        set_threads(1)
        with workdir() as tmp:
            result = (
                one_launch(args.case, args.trials, tmp)
                if args.one == "launch"
                else one_optuna(args.case, args.trials)
            )
        write_json(args.out, result)
        return
    if args.vs_optuna:
        vs_optuna(args)
        return
    if args.timeline:
        set_threads(1)
        got = timeline(args.timeline, args.trials)
        for name, at in got["marks"].items():
            print(f"{at:7.2f} s  {name}")
        rows = [[k, f"{v[0]:.2f}", v[1]] for k, v in got["worker_seconds"].items()]
        print(table(["event on the workers", "seconds", "count"], rows, align="lrr"))
        if args.json:
            write_json(args.json, got)
        return
    cases = (
        [(1.0, 1, 8), (1.0, 2, 8)]
        if args.quick
        else [(1.0, 1, 12), (1.0, 2, 12), (10.0, 1, 4), (10.0, 2, 6)]
    )
    import ray

    results = []
    clock = Stopwatch()
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        # The workers import the task from this file, which imports _common.
        runtime_env={"py_modules": [str(Path(__file__).resolve()), str(_common.__file__)]},
    )
    ray_start = clock.seconds
    try:
        with workdir() as tmp:
            for trial_s, conc, n in cases:
                results.append(
                    run_study(trial_s, conc, n, tmp, checkpoint_every=args.checkpoint_every)
                )
    finally:
        ray.shutdown()
    saving = (
        f"checkpoint every {args.checkpoint_every} epochs"
        if args.checkpoint_every
        else "no checkpoints"
    )
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs; local Ray start-up {ray_start:.1f} s"
        f" (once per launch, not counted below); {saving}"
    )
    rows = [
        [
            f"{r['trial_seconds']:.0f}s",
            r["concurrency"],
            r["trials"],
            f"{r['study_wall_s']:.1f}",
            f"{100 * r['per_trial_overhead_median']:.1f}%",
            f"{100 * r['study_overhead']:.1f}%",
            f"{r['trials_per_minute']:.1f}",
        ]
        for r in results
    ]
    headers = ["trial", "conc", "trials", "wall s", "overhead/trial", "overhead/study"]
    print(table([*headers, "trials/min"], rows, align="rrrrrrr"))
    if args.json:
        write_json(args.json, {"ray_start_s": ray_start, "studies": results})


if __name__ == "__main__":
    main()
