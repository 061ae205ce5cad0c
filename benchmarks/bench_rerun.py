"""Fresh-seed re-training on Ray in parallel against one training at a time in this process.

    python benchmarks/bench_rerun.py --quick   # 4 activations x 2 seeds, 3 epochs: ~30 s
    python benchmarks/bench_rerun.py --full    # 6 activations x 5 seeds, 10 epochs: ~1 min

The same trainings (standard activations on ``digits-mlp``, seeds ``fresh_seeds(n)``) run twice
through ``afsearch.results.compare``: in this process with one torch thread (as each Ray task
has with ``cpus_per_trial=1``), then with ``parallel=True`` as Ray tasks on a local Ray of
``--cpus`` CPUs (its start-up counted), as ``afsearch rerun`` and launch's confirm stage run
them. Reported: both wall times, the speed-up, and whether every metric came out the same (on
the CPU a seed trains the same network wherever it runs). Writes
``benchmarks/results/bench_rerun[_full].json``.

Measured on the shared 2-core machine (``--full``): 30 trainings of a fraction of a second each
took 7.1 s here and 28.1 s on Ray, every metric the same. Ray's start (about 14 s with the
imports) and each worker's first training (about 6 s: importing torch, scikit-learn and the
task) are a fixed cost; after it, 30 trainings took 7.9 s for 15.0 s of training, two at a
time. Ray pays off when trainings take longer than that cost, or on a cluster's CPUs and GPUs.
"""

from __future__ import annotations

import time

from _common import add_launch_options, arguments, log, run_info, save, set_threads, table

from afsearch.orchestrator import init_ray
from afsearch.results import compare, fresh_seeds
from afsearch.tasks import TaskSettings

QUICK = {"activations": ("relu", "gelu", "silu", "tanh"), "seeds": 2, "epochs": 3}
FULL = {"activations": ("relu", "gelu", "silu", "mish", "elu", "tanh"), "seeds": 5, "epochs": 10}


def main() -> None:
    parser = arguments(
        __doc__,
        quick="4 x 2 trainings of 3 epochs (default)",
        full="6 x 5 of 10 epochs",
        json="result file (default benchmarks/results/bench_rerun[_full].json)",
    )
    add_launch_options(parser)
    args = parser.parse_args()
    size = FULL if args.full else QUICK
    settings = TaskSettings(epochs=size["epochs"], batch_size=64)
    named = [(n, {"family": "standard", "name": n}) for n in size["activations"]]
    seeds = fresh_seeds(size["seeds"])
    n = len(named) * len(seeds)
    set_threads(1)
    log(f"{n} trainings in this process, one at a time")
    start = time.perf_counter()
    here = compare(named, "digits-mlp", seeds=seeds, settings=settings)
    serial = time.perf_counter() - start
    log(f"{n} trainings as Ray tasks")
    start = time.perf_counter()
    started = init_ray(args.address, None if args.address else args.cpus, None)
    try:
        par = compare(named, "digits-mlp", seeds=seeds, settings=settings, parallel=True)
    finally:
        if started:
            import ray

            ray.shutdown()
    parallel = time.perf_counter() - start
    same = all(a.values == b.values for a, b in zip(here, par, strict=True))
    print(
        table(
            ["trainings", "in process (s)", "Ray parallel (s)", "speed-up", "same metrics"],
            [[n, f"{serial:.1f}", f"{parallel:.1f}", f"{serial / parallel:.2f}x", same]],
        )
    )
    path = save(
        {
            **run_info("bench_rerun", args.full),
            "trainings": n,
            "epochs": size["epochs"],
            "cpus": None if args.address else args.cpus,
            "in_process_s": serial,
            "ray_parallel_s": parallel,
            "same_metrics": same,
        },
        "bench_rerun",
        args.json,
        args.full,
    )
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
