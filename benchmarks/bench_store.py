"""Benchmark of the trial store: epoch write rate and top-k query latency.

    python benchmarks/bench_store.py                     # temporary SQLite file
    python benchmarks/bench_store.py --url postgresql+psycopg://user:pw@host/db

(a) ``record_epochs`` rows per second, in batches (one transaction per batch) and one row at a
time; (b) latency of ``trials(study, top=10)`` on a study of 10,000 trials, through a URL (what
the CLI pays: open, check the schema, query, close) and through an open store. Targets: at least
1,000 rows/s in batches on SQLite, at most 200 ms for the top-10 query.

The top-k study is written beforehand, untimed, through ``TrialStore.start_trial`` and
``finish_trial`` as the driver writes trials (about 5 ms a trial on SQLite, so 50 s for
10,000); ``--trials 1000`` makes a quick run.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable

from _common import (
    Stopwatch,
    arguments,
    create_study,
    finished_trials,
    log,
    table,
    timings,
    workdir,
)

from afsearch.store import TrialStore, trials


def bench_record_epochs(store: TrialStore, rows: int, batch: int) -> float:
    """Rows per second written by ``record_epochs``: 100 epochs per trial, ``batch`` a call."""
    study = f"write-{batch}-{uuid.uuid4().hex[:6]}"
    create_study(store, study, task="bench", metric="accuracy")
    epochs_per_trial = 100
    trial_ids = [
        store.start_trial(study, tune_trial_id=str(i), config={"i": i})
        for i in range(-(-rows // epochs_per_trial))
    ]
    calls = [
        (
            trial_id,
            [
                (epoch, {"accuracy": 0.5 + epoch / 1000, "loss": 1.0 / (epoch + 1)}, 0.5)
                for epoch in range(first, min(first + batch, epochs_per_trial))
            ],
        )
        for trial_id in trial_ids
        for first in range(0, epochs_per_trial, batch)
    ]
    clock = Stopwatch()
    for trial_id, epoch_rows in calls:
        store.record_epochs(trial_id, epoch_rows)
    elapsed = clock.seconds
    return sum(len(epoch_rows) for _, epoch_rows in calls) / elapsed


def latency_ms(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and worst latency of ``call`` in milliseconds, after one warm-up call."""
    times = [1000 * t for t in timings(call, repeat)]
    return statistics.median(times), max(times)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--rows", type=int, default=5000, help="epoch rows to write")
    parser.add_argument("--batch", type=int, default=50, help="rows per record_epochs call")
    parser.add_argument("--trials", type=int, default=10_000, help="trials in the top-k study")
    parser.add_argument("--repeat", type=int, default=20, help="timed top-k queries")
    args = parser.parse_args()

    with workdir() as tmp:
        url = args.url or f"sqlite:///{tmp / 'bench.db'}"
        with TrialStore(url) as store:
            print(f"database: {store.url_masked}")
            results: list[tuple[str, str, str]] = []
            rate = bench_record_epochs(store, args.rows, args.batch)
            results.append(
                (f"record_epochs, batches of {args.batch}", f"{rate:,.0f} rows/s", ">= 1,000")
            )
            single_rows = min(args.rows, 500)
            rate = bench_record_epochs(store, single_rows, 1)
            results.append(("record_epochs, 1 row per call", f"{rate:,.0f} rows/s", ""))

            study = f"topk-{uuid.uuid4().hex[:6]}"
            log(f"writing a study of {args.trials:,} finished trials (untimed) ...")
            create_study(store, study, task="bench", metric="accuracy")
            finished_trials(store, study, args.trials)
            n = args.trials
            for label, call in [
                (f"trials(top=10), {n:,} trials, via URL", lambda: trials(study, url, top=10)),
                (f"trials(top=10), {n:,} trials, open store", lambda: trials(study, store, top=10)),
                (
                    f"trials(top=10, status=completed), {n:,}, open store",
                    lambda: trials(study, store, top=10, status="completed"),
                ),
            ]:
                median, worst = latency_ms(call, args.repeat)
                results.append((label, f"{median:.1f} ms (max {worst:.1f})", "<= 200 ms"))
            top = trials(study, store, top=10)
            assert len(top) == 10
            assert [t.metric_value for t in top] == sorted(
                (t.metric_value for t in top), key=lambda v: -(v or 0)
            )

    print(table(["measurement", "result", "target"], results))


if __name__ == "__main__":
    main()
