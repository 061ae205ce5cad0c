"""Write rate of the driver's StoreCallback, the single writer of the trial database.

Drives the real callback (``afsearch.orchestrator.StoreCallback``) on a real SQLite file with
trial objects shaped like Ray Tune's (an id, a config, a last result): N trials start, report M
epochs each, interleaved as concurrent trials do, and finish. Reports epoch rows per second
through ``on_trial_result`` (buffered, flushed every 256 rows or second) and the cost of
``on_trial_complete``; also times ``afsearch trials --top 10`` as a user runs it, a whole process
on a study of 10,000 finished trials (written beforehand, untimed, through ``TrialStore``). A
second pass reports a checkpoint after every epoch, as trials do by default
(``checkpoint_every: 1``): each one is written at once, with the epochs buffered so far, in one
transaction.

    python benchmarks/bench_callback.py
    python benchmarks/bench_callback.py --url postgresql+psycopg://user:pw@host/db
    python benchmarks/bench_callback.py --trials 50 --cli-trials 1000   # a quick run
"""

from __future__ import annotations

import statistics
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    AFSEARCH_CLI,
    Stopwatch,
    arguments,
    create_study,
    finished_trials,
    log,
    timings,
    workdir,
)

from afsearch.orchestrator import StoreCallback
from afsearch.store import TrialStore
from afsearch.tasks import TaskSettings
from afsearch.trial import TrialSpec


@dataclass
class FakeTrial:
    """The attributes of ray.tune.experiment.Trial that the callback reads."""

    trial_id: str
    config: dict[str, Any]
    last_result: dict[str, Any] = field(default_factory=dict)
    status: str = "RUNNING"


def _config(i: int) -> dict[str, Any]:
    """Trial ``i``'s Tune config as the driver's proposer makes it: its ``TrialSpec`` as data
    under the ``afsearch`` key. Fifty distinct activations (ids) among the trials."""
    spec = TrialSpec(
        activation={"family": "swish", "beta": 1.0 + i * 1e-6},
        candidate={
            "id": f"af-bench{i % 50:08d}",
            "expression": "x*sigmoid(beta*x)",
            "srepr": "",
            "latex": "",
            "family": "swish",
            "params": {"beta": {"value": 1.0, "trainable": False}},
        },
        task="digits-mlp",
        settings=TaskSettings(epochs=20),
        seeds=1,
        seed=i,
        metric="val_accuracy",
        mode="max",
        dedup_key=f"k{i}",
    )
    return {"afsearch": spec.to_dict()}


@dataclass
class FakeCheckpoint:
    """The attributes of ray.tune.Checkpoint that the callback reads."""

    path: str
    epoch: int

    class filesystem:  # mirrors the pyarrow file system attribute
        type_name = "local"

    def get_metadata(self) -> dict[str, Any]:
        return {"epoch": self.epoch}


def bench_callback(
    url: str, trials: int, epochs: int, checkpoints: bool = False
) -> tuple[float, float]:
    study = f"bench-{uuid.uuid4().hex[:8]}"
    with TrialStore(url) as store:
        create_study(store, study, num_samples=trials)
    cb = StoreCallback(url, study, "val_accuracy", "max")
    objs = [FakeTrial(f"t{i:05d}", _config(i)) for i in range(trials)]
    for t in objs:
        cb.on_trial_start(0, objs, t)
    clock = Stopwatch()
    for e in range(1, epochs + 1):
        for t in objs:
            result = {
                "val_accuracy": 0.5 + e / 100,
                "train_loss": 1.0 / e,
                "val_loss": 1.1 / e,
                "epoch_seconds": 0.5,
                "epoch": e,
                "training_iteration": e,
                "final": int(e == epochs),
                "diverged": 0,
                "timed_out": 0,
                "reused_from": -1,
                "node": "127.0.0.1 abc",
            }
            t.last_result = result
            cb.on_trial_result(e, objs, t, result)
            if checkpoints and e < epochs:
                where = f"/runs/{t.trial_id}/checkpoint_{e:06d}"
                cb.on_checkpoint(e, objs, t, FakeCheckpoint(where, e))
    cb.flush()
    rate = trials * epochs / clock.seconds
    clock = Stopwatch()
    for t in objs:
        cb.on_trial_complete(epochs, objs, t)
    per_complete = clock.seconds / trials
    return rate, per_complete


def bench_cli(tmp: Path, n: int) -> float:
    """Median seconds of 5 runs of ``afsearch trials --top 10`` on ``n`` finished trials."""
    url = f"sqlite:///{tmp / 'big.db'}"
    log(f"writing a study of {n:,} finished trials (untimed) ...")
    with TrialStore(url) as store:
        create_study(store, "big", num_samples=n)
        finished_trials(store, "big", n)
    command = [AFSEARCH_CLI, "trials", "--db", url, "--study", "big", "--top", "10", "--json"]
    return statistics.median(
        timings(
            lambda: subprocess.run(command, check=True, capture_output=True), repeat=5, warmup=0
        )
    )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--url", help="database for the callback passes (default: SQLite file)")
    parser.add_argument("--trials", type=int, default=200, help="trials of the callback passes")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of each trial")
    parser.add_argument(
        "--cli-trials", type=int, default=10_000, help="trials of the study the CLI reads"
    )
    args = parser.parse_args()
    with workdir() as tmp:
        url = args.url or f"sqlite:///{tmp / 'cb.db'}"
        rate, per_complete = bench_callback(url, trials=args.trials, epochs=args.epochs)
        ckpt_rate, _ = bench_callback(url, args.trials, args.epochs, checkpoints=True)
        cli = bench_cli(tmp, args.cli_trials)
    kind = url.split(":", 1)[0].split("+", 1)[0]
    print(f"StoreCallback on {kind} ({args.trials} trials x {args.epochs} epochs, interleaved)")
    print(f"  epoch rows through on_trial_result: {rate:,.0f} rows/s   (target >= 1,000)")
    print(f"  with a checkpoint after each epoch: {ckpt_rate:,.0f} rows/s")
    print(f"  on_trial_complete:                  {1000 * per_complete:.1f} ms per trial")
    print(
        f"`afsearch trials --top 10` on {args.cli_trials:,} trials, whole process (median of 5): "
        f"{1000 * cli:.0f} ms"
    )


if __name__ == "__main__":
    main()
