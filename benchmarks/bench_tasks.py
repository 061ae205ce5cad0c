"""Do the activations matter on inr-image, pinn-poisson and pinn-burgers? Baselines, 3 seeds.

    python benchmarks/bench_tasks.py --quick   # 3 fresh seeds: ~6 min on 2 CPU cores
    python benchmarks/bench_tasks.py --full    # 10 fresh seeds: ~20 min

Every task with its defaults (``afsearch tasks``), trained in this process, one torch thread, on
seeds no search uses (``fresh_seeds``): the six standard activations (relu, gelu, silu, mish,
elu, tanh) everywhere; on ``inr-image`` also ``sin`` with SIREN's initialisation at ``omega0``
30 (the published value), 10 and 5; on the PINNs also ``sin`` (with the default
initialisation, as PINN codes use it). The PINNs take two derivatives of the activation and
refuse ``relu`` and ``elu`` (kinks); for the record those two are also trained as plain
``torch.nn`` modules, which the task does not check, to show what the refusal spares.

Prints one Markdown table per task (metric mean ± sample std over the seeds, seconds per
trial) and the spread between the best and the worst smooth baseline; writes
``benchmarks/results/bench_tasks.json`` (``bench_tasks_full.json``).
"""

from __future__ import annotations

import math
import time
from typing import Any

from _common import (
    BASELINES,
    add_training_options,
    arguments,
    log,
    mean_std,
    run_info,
    save,
    set_threads,
    table,
)
from torch import nn

from afsearch.activations import build
from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError
from afsearch.results import fresh_seeds
from afsearch.tasks import BaseTask, get_task

NAME = "bench_tasks"
SIREN_OMEGAS = (30.0, 10.0, 5.0)
TORCH_MODULES = {"relu": nn.ReLU, "elu": nn.ELU}


def entries(task: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, standard activation, task options) to train on ``task``."""
    out: list[tuple[str, str, dict[str, Any]]] = [(name, name, {}) for name in BASELINES]
    if task == "inr-image":
        out += [
            (f"sin, SIREN omega0={w:g}", "sin", {"omega0": w, "init": "siren"})
            for w in SIREN_OMEGAS
        ]
    else:
        out.append(("sin", "sin", {}))
    return out


def train(task: BaseTask, make: Any, seed: int, device: str) -> tuple[float | None, float]:
    """The task's metric after the last epoch (None if diverged) and the seconds it took."""
    start = time.perf_counter()
    last = None
    for result in task.fit(make, seed=seed, device=device):
        last = result
    seconds = time.perf_counter() - start
    if last is None or last.diverged:
        return None, seconds
    return last.metrics[task.metric], seconds


def run_task(name: str, seeds: list[int], device: str) -> dict[str, Any]:
    rows = []
    for label, activation, options in entries(name):
        cls = type(get_task(name))
        task = cls(cls.make_settings(options=options))
        candidate = build({"family": "standard", "name": activation})
        refused = None
        try:
            task.check_candidate(candidate)
            make: Any = lambda c=candidate: CompiledActivation(c)  # noqa: E731
        except AfsearchError as exc:
            refused = str(exc)
            make = TORCH_MODULES[activation]
        values, seconds = [], []
        for seed in seeds:
            value, secs = train(task, make, seed, device)
            values.append(value)
            seconds.append(secs)
            log(f"[{name}] {label} seed {seed}: {value} ({secs:.1f} s)")
        rows.append(
            {
                "label": label,
                "activation": activation,
                "options": options,
                "refused": refused,
                "values": values,
                "seconds": seconds,
            }
        )
    cls = type(get_task(name))
    return {"task": name, "metric": cls.metric, "mode": cls.mode, "rows": rows}


def fmt(values: list[float | None], mode: str) -> str:
    m, s = mean_std(values)
    if math.isnan(m):
        return "diverged"
    if mode == "max":
        return f"{m:.2f} ± {s:.2f}"
    return f"{m:.3g} ± {s:.2g}"


def report(result: dict[str, Any]) -> str:
    mode = result["mode"]
    lines = []
    for row in result["rows"]:
        note = "refused (kinks); trained as torch.nn anyway" if row["refused"] else ""
        diverged = sum(v is None for v in row["values"])
        if diverged:
            note = (note + "; " if note else "") + f"{diverged} diverged"
        secs = sum(row["seconds"]) / len(row["seconds"])
        lines.append([row["label"], fmt(row["values"], mode), f"{secs:.1f}", note])
    smooth = [
        (mean_std(r["values"])[0], r["label"])
        for r in result["rows"]
        if not r["refused"] and not math.isnan(mean_std(r["values"])[0])
    ]
    best = (max if mode == "max" else min)(smooth)
    worst = (min if mode == "max" else max)(smooth)
    if mode == "max":
        spread = f"spread {best[0] - worst[0]:.1f} dB ({best[1]} over {worst[1]})"
    else:
        spread = f"spread x{worst[0] / best[0]:.1f} ({best[1]} over {worst[1]})"
    result["spread"] = spread
    head = f"### {result['task']} ({result['metric']}, {mode}); {spread}\n\n"
    return head + table(["activation", result["metric"], "s/trial", "note"], lines, "lrrl")


def main() -> None:
    parser = arguments(
        __doc__,
        quick="3 fresh seeds per activation (the default)",
        full="10 fresh seeds per activation",
        json="write the results here instead of benchmarks/results/",
    )
    add_training_options(parser)
    parser.add_argument("--tasks", default="inr-image,pinn-poisson,pinn-burgers")
    args = parser.parse_args()
    set_threads(args.threads)
    seeds = fresh_seeds(10 if args.full else 3)
    out: dict[str, Any] = {**run_info(NAME, args.full), "seeds": seeds, "tasks": []}
    for name in args.tasks.split(","):
        result = run_task(name, seeds, args.device)
        print(report(result) + "\n", flush=True)
        out["tasks"].append(result)
    log(f"wrote {save(out, NAME, args.json, args.full)}")


if __name__ == "__main__":
    main()
