"""Write rate of the driver's StoreCallback, the single writer of the trial database.

Drives the real callback (``afsearch.orchestrator._callback.StoreCallback``) on a real SQLite
file with trial objects shaped like Ray Tune's (an id, a config, a last result): N trials start,
report M epochs each, interleaved as concurrent trials do, and finish. Reports epoch rows per
second through ``on_trial_result`` (buffered, flushed every 256 rows or second) and the cost of
``on_trial_complete``; also times ``afsearch trials --top 10`` as a user runs it, a whole process
on a study of 10,000 trials. A second pass reports a checkpoint after every epoch, as trials
do by default (``checkpoint_every: 1``): each one is written at once, with the epochs buffered
so far, in one transaction.

    python benchmarks/bench_callback.py
    python benchmarks/bench_callback.py --url postgresql+psycopg://user:pw@host/db
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from afsearch.orchestrator._callback import StoreCallback  # noqa: E402
from afsearch.store import TrialStore  # noqa: E402


@dataclass
class FakeTrial:
    """The attributes of ray.tune.experiment.Trial that the callback reads."""

    trial_id: str
    config: dict[str, Any]
    last_result: dict[str, Any] = field(default_factory=dict)
    status: str = "RUNNING"


def _config(i: int) -> dict[str, Any]:
    return {
        "afsearch": {
            "activation": {"family": "swish", "beta": 1.0 + i * 1e-6},
            "candidate": {
                "id": f"af-bench{i % 50:08d}",
                "expression": "x*sigmoid(beta*x)",
                "srepr": "",
                "latex": "",
                "family": "swish",
                "params": {"beta": {"value": 1.0, "trainable": False}},
            },
            "task": "digits-mlp",
            "settings": {"epochs": 20},
            "dedup_key": f"k{i}",
            "metric": "val_accuracy",
            "mode": "max",
        }
    }


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
        store.create_study(
            study,
            space={},
            task="digits-mlp",
            metric="val_accuracy",
            mode="max",
            sampler="tpe",
            scheduler="none",
            num_samples=trials,
        )
    cb = StoreCallback(url, study, "val_accuracy", "max")
    objs = [FakeTrial(f"t{i:05d}", _config(i)) for i in range(trials)]
    for t in objs:
        cb.on_trial_start(0, objs, t)
    start = time.perf_counter()
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
    rate = trials * epochs / (time.perf_counter() - start)
    start = time.perf_counter()
    for t in objs:
        cb.on_trial_complete(epochs, objs, t)
    per_complete = (time.perf_counter() - start) / trials
    return rate, per_complete


def bench_cli(tmp: Path, n: int) -> float:
    url = f"sqlite:///{tmp / 'big.db'}"
    with TrialStore(url) as store:
        store.create_study(
            "big",
            space={},
            task="digits-mlp",
            metric="val_accuracy",
            mode="max",
            sampler="tpe",
            scheduler="none",
            num_samples=n,
        )
        for i in range(n):
            tid = store.start_trial("big", tune_trial_id=f"t{i}", config={"i": i})
            store.finish_trial(tid, status="completed", metric_value=(i * 7919 % n) / n)
    exe = Path(sys.executable).parent / "afsearch"
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(
            [str(exe), "trials", "--db", url, "--study", "big", "--top", "10", "--json"],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - start)
    return sorted(times)[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database for the callback passes (default: SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        url = args.url or f"sqlite:///{tmp / 'cb.db'}"
        rate, per_complete = bench_callback(url, trials=200, epochs=20)
        ckpt_rate, _ = bench_callback(url, trials=200, epochs=20, checkpoints=True)
        cli = bench_cli(tmp, 10_000)
    kind = url.split(":", 1)[0].split("+", 1)[0]
    print(f"StoreCallback on {kind} (200 trials x 20 epochs, interleaved)")
    print(f"  epoch rows through on_trial_result: {rate:,.0f} rows/s   (target >= 1,000)")
    print(f"  with a checkpoint after each epoch: {ckpt_rate:,.0f} rows/s")
    print(f"  on_trial_complete:                  {1000 * per_complete:.1f} ms per trial")
    print(
        f"`afsearch trials --top 10` on 10,000 trials, whole process (median of 5): "
        f"{1000 * cli:.0f} ms"
    )


if __name__ == "__main__":
    main()
