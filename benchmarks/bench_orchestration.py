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

The space names its task ``bench_orchestration:TimedTask``: the driver imports this file as
``bench_orchestration`` (its folder is on ``sys.path``), and the Ray instance started here ships
it and ``_common.py`` to the workers as ``py_modules``, as ``launch`` does for a task module
beside a space file. ``--json PATH`` also writes the results to a file.
"""

from __future__ import annotations

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
        progress=False,
        num_cpus=2,
        reuse=False,
    )
    wall = clock.seconds
    rows = trials(study, url)
    shares, train_total = [], 0.0
    for t in rows:
        train = sum(e.metrics.get("epoch_seconds", 0.0) for e in epochs(t.id, url))
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


def main() -> None:
    parser = arguments(__doc__, quick="1 s trials only", json="also write the results to this file")
    parser.add_argument(
        "--checkpoint-every", type=int, default=1, help="epochs between checkpoints (0: none)"
    )
    args = parser.parse_args()
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
        logging_level="ERROR",
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
