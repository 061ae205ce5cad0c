"""Baselines: ReLU, GELU, SiLU, Mish, ELU and tanh on the three classification tasks, 5 seeds.

    python benchmarks/bench_baselines.py --quick    # ~2.5 min on 2 CPU cores (mnist1d-cnn: 20
                                                    # epochs instead of 60)
    python benchmarks/bench_baselines.py --full     # every task at its default epochs (60 for
                                                    # MNIST-1D): ~6 min on 2 CPU cores

Each activation (family ``standard``) is trained with ``afsearch.results.compare`` on the seeds
``fresh_seeds(5)`` (10000..10004, never used by a search) with each task's default settings;
``--quick`` only cuts ``mnist1d-cnn`` from 60 to 20 epochs (the table says so). Reported: mean ±
std over the seeds of the task's metric (``val_accuracy``, last epoch) and of the test accuracy
(``test_accuracy`` of the last epoch), and seconds per run. The MNIST-1D ReLU rows are set
against Greydanus (2020): about 68% (MLP) and 94% (CNN) test accuracy.

Writes ``benchmarks/results/bench_baselines.json`` (``bench_baselines_full.json`` with
``--full``); ``bench_search.py`` reads it to pick each task's best baseline. Options:
``--seeds N``, ``--tasks ...``, ``--activations ...``, ``--device cuda``, ``--json PATH``.
Runs in one process, one training at a time (torch uses all cores); no Ray.
"""

from __future__ import annotations

from typing import Any

from _common import (
    BASELINES,
    Stopwatch,
    add_training_options,
    arguments,
    log,
    mean_std,
    pm,
    run_info,
    save,
    set_threads,
    table,
)

from afsearch.results import compare, fresh_seeds
from afsearch.tasks import get_task

TASKS = ("digits-mlp", "mnist1d-mlp", "mnist1d-cnn")
QUICK_EPOCHS = {"mnist1d-cnn": 20}
# Greydanus 2020, "Scaling down deep learning", ReLU test accuracy.
PAPER = {"mnist1d-mlp": 0.68, "mnist1d-cnn": 0.94}


def run(
    tasks: list[str], activations: list[str], seeds: int, quick: bool, device: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for task in tasks:
        cls = type(get_task(task))
        default_epochs = cls.default_settings.epochs
        epochs = QUICK_EPOCHS.get(task, default_epochs) if quick else default_epochs
        settings = cls.make_settings(epochs=epochs)
        log(f"[{task}] {epochs} epochs, {len(activations)} activations x {seeds} seeds")
        clock = Stopwatch()

        def progress(name: str, seed: int, r: Any, _task: str = task) -> None:
            m = "diverged" if r.metric is None else f"{r.metric:.4f}"
            log(f"  {_task} {name:<5} seed {seed}: {m} ({r.seconds:.1f} s)")

        comps = compare(
            [(n, {"family": "standard", "name": n}) for n in activations],
            task,
            seeds=fresh_seeds(seeds),
            settings=settings,
            device=device,
            progress=progress,
        )
        results = {}
        for c in comps:
            test = [r.test.get("test_accuracy") for r in c.runs if not r.diverged]
            results[c.name] = {
                "metric": c.metric,
                "mean": c.mean,
                "std": c.std,
                "values": c.values,
                "test_accuracy": {
                    "mean": mean_std(test)[0],
                    "std": mean_std(test)[1],
                    "values": test,
                },
                "diverged": sum(r.diverged for r in c.runs),
                "seconds_per_run": sum(r.seconds for r in c.runs) / len(c.runs),
                "seeds": [r.seed for r in c.runs],
            }
        mode = comps[0].mode
        best = (max if mode == "max" else min)(results, key=lambda n: results[n]["mean"])
        out[task] = {
            "epochs": epochs,
            "default_epochs": default_epochs,
            "metric": comps[0].metric,
            "mode": mode,
            "settings": {
                "batch_size": settings.batch_size,
                "lr": settings.lr,
                "weight_decay": settings.weight_decay,
                "optimizer": settings.optimizer,
            },
            "results": results,
            "best": best,
            "best_by_test_accuracy": max(
                results, key=lambda n: results[n]["test_accuracy"]["mean"]
            ),
            "seconds": clock.seconds,
        }
    return out


def report(data: dict[str, Any]) -> str:
    rows = []
    for task, d in data["tasks"].items():
        ep = f"{d['epochs']}" + (
            f" (quick; default {d['default_epochs']})" if d["epochs"] != d["default_epochs"] else ""
        )
        for name, r in d["results"].items():
            mark = " *" if name == d["best"] else ""
            rows.append(
                [
                    task,
                    ep,
                    name + mark,
                    pm(r["values"]),
                    pm(r["test_accuracy"]["values"]),
                    f"{r['seconds_per_run']:.1f}",
                ]
            )
    headers = ["task", "epochs", "activation", "val acc % (metric)", "test acc %", "s/run"]
    text = table(headers, rows)
    text += "\n\n* best mean of the task metric; mean ± std over seeds " + ", ".join(
        str(s) for s in data["seeds"]
    )
    paper_rows = []
    for task, ref in PAPER.items():
        if task in data["tasks"] and "relu" in data["tasks"][task]["results"]:
            d = data["tasks"][task]
            acc = d["results"]["relu"]["test_accuracy"]["values"]
            paper_rows.append([task, d["epochs"], pm(acc), f"~{100 * ref:.0f}"])
    if paper_rows:
        text += "\n\nReLU against Greydanus (2020):\n\n" + table(
            ["task", "epochs", "test acc % (ours)", "test acc % (paper)"], paper_rows
        )
    return text


def main() -> None:
    parser = arguments(
        __doc__,
        quick="mnist1d-cnn 20 epochs (default)",
        full="every task at its default epochs",
        json="output file (default benchmarks/results/)",
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--activations", nargs="+", default=list(BASELINES))
    add_training_options(parser)
    args = parser.parse_args()
    set_threads(args.threads)
    quick = not args.full
    clock = Stopwatch()
    tasks = run(args.tasks, args.activations, args.seeds, quick, args.device)
    data = {
        **run_info("bench_baselines", not quick),
        "seeds": fresh_seeds(args.seeds),
        "paper_test_accuracy_relu": PAPER,
        "tasks": tasks,
        "seconds": clock.seconds,
    }
    path = save(data, "bench_baselines", args.json, full=not quick)
    print(report(data))
    print(f"\n{data['seconds']:.0f} s; written to {path}")


if __name__ == "__main__":
    main()
