"""Kernels for SLAF and rational units against the program path and ReLU, side by side.

    python benchmarks/bench_kernels.py                  # about 4 minutes on 2 loaded cores
    python benchmarks/bench_kernels.py --quick          # one round, no cost or first-use rows
    python benchmarks/bench_kernels.py --json benchmarks/results/bench_kernels.json

One process, torch on one thread (as a Ray trial with one CPU). For digits-mlp and mnist1d-mlp,
each round starts one fit per variant and advances them in turn, epoch by epoch, so background
load hits every variant alike; the first epoch (data, and a kernel's compile or load) and the
last (test metrics) are not timed:

- ``relu``: ``nn.ReLU``;
- ``slaf``: a degree-6 Chebyshev SLAF, ``rational``: a (5, 4) rational unit, each as
  ``before`` (the program the trial module ran before kernels: ``CompiledActivation(c,
  fold=True, fused=None)``), ``after`` (the module the activation factory builds now, its
  kernel compiled: ``compile: always``, or ``auto`` on a machine that compiled the structure
  before) and ``eager`` (the kernel in eager torch ops: ``compile: never``, or ``auto`` before
  the compile pays).

Every epoch figure is the ratio of a variant's median epoch to ReLU's in the same round; the
table gives the median over rounds. ``cost`` rows are :func:`afsearch.compiler.measure_cost`
(forward+backward time and kept memory per element against ReLU's, 64K elements; the figure a
trial reports), measured three times each, variants in turn. ``first use`` is the time of a
kernel's first forward and backward in a fresh interpreter with an empty inductor cache
(``cold``: it compiles) and then in another with that cache (``warm``: it loads the file the
first wrote). The load average (1 minute) is read before and after each round.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from _common import arguments, log, run_info, save, set_threads, table

TASKS = ("digits-mlp", "mnist1d-mlp")
FAMILIES = {
    "slaf": {"family": "slaf", "basis": "chebyshev", "degree": 6},
    "rational": {"family": "rational", "m": 5, "n": 4},
}
WAYS = ("before", "after", "eager")
TARGET = 1.5


def makers(way: str, config: dict[str, Any]) -> Callable[..., Any]:
    """A ``make_activation`` for one fit of ``config`` run the ``way`` named."""
    from afsearch.activations import build
    from afsearch.compiler import CompiledActivation
    from afsearch.tasks import ActivationFactory

    candidate = build(config)
    if way == "before":
        return lambda **_: CompiledActivation(candidate, fold=True, fused=None)
    factory = ActivationFactory(candidate, compile_mode="never" if way == "eager" else "always")
    return factory.maker()


def epoch_round(task_name: str, epochs: int) -> dict[str, float]:
    """One round on one task: each variant's median epoch over ReLU's."""
    from torch import nn

    from afsearch.tasks import get_task

    task = get_task(task_name, type(get_task(task_name)).make_settings(epochs=epochs + 2))
    makes: dict[str, Callable[..., Any]] = {"relu": nn.ReLU}
    for fam, config in FAMILIES.items():
        for way in WAYS:
            makes[f"{fam} {way}"] = makers(way, config)
    runs = {k: task.fit(make, seed=0, device="cpu") for k, make in makes.items()}
    for run in runs.values():
        next(run)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(epochs):
        for k, run in runs.items():
            start = time.perf_counter()
            next(run)
            times[k].append(time.perf_counter() - start)
    relu = statistics.median(times.pop("relu"))
    out = {f"{task_name} relu epoch s": relu}
    out.update({f"{task_name} {k}": statistics.median(v) / relu for k, v in times.items()})
    return out


def cost_rows(repeats: int = 3) -> dict[str, float]:
    from afsearch.activations import build
    from afsearch.compiler import CompiledActivation, measure_cost

    modules = {}
    for fam, config in FAMILIES.items():
        c = build(config)
        modules[f"{fam} before"] = CompiledActivation(c, fold=True, fused=None)
        for way in ("after", "eager"):
            m = CompiledActivation(c, fold=True, fused=None, kernel=True)
            m.use_compiled(way == "after")
            modules[f"{fam} {way}"] = m
    samples: dict[str, list[Any]] = {k: [] for k in modules}
    for _ in range(repeats):
        for k, m in modules.items():
            samples[k].append(measure_cost(m))
    out = {}
    for k, costs in samples.items():
        out[f"cost {k} time"] = statistics.median(c.time for c in costs)
        out[f"cost {k} memory"] = statistics.median(c.memory for c in costs)
    return out


_FIRST_USE = """
import time, torch
torch.set_num_threads(1)
from afsearch.activations import build
from afsearch.compiler import CompiledActivation
m = CompiledActivation(build(CONFIG), fold=True, kernel=True)
m.use_compiled()
x = torch.randn(64, 64, requires_grad=True)
start = time.perf_counter()
m(x).sum().backward()
print(time.perf_counter() - start)
"""


def first_use(config: dict[str, Any], cache: str) -> float:
    """Seconds of the first forward+backward of the compiled kernel in a fresh interpreter."""
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
    code = _FIRST_USE.replace("CONFIG", repr(config))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def first_use_rows() -> dict[str, float]:
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-kernels-inductor-") as cache:
        for fam, config in FAMILIES.items():
            out[f"first use {fam} cold s"] = first_use(config, cache)
            out[f"first use {fam} warm s"] = first_use(config, cache)
    return out


def report(rounds: list[dict[str, float]]) -> tuple[str, dict[str, Any]]:
    keys = [k for k in rounds[0] if not k.startswith("load")]
    summary = {k: statistics.median(r[k] for r in rounds if k in r) for k in keys}
    rows = []
    for task in TASKS:
        rows.append([f"{task}: ReLU epoch (s)", f"{summary[f'{task} relu epoch s']:.4f}", "", ""])
        for fam in FAMILIES:
            before, after, eager = (summary[f"{task} {fam} {w}"] for w in WAYS)
            verdict = "ok" if after <= TARGET else "MISS"
            after_text = f"{after:.2f} ({verdict})"
            rows.append([f"{task}: {fam} / ReLU", f"{before:.2f}", after_text, f"{eager:.2f}"])
    for fam in FAMILIES:
        for what in ("time", "memory"):
            vals = [summary.get(f"cost {fam} {w} {what}") for w in WAYS]
            if None not in vals:
                rows.append([f"cost {fam} {what}", *(f"{v:.2f}" for v in vals)])
    text = table(["row", "before", f"after (target {TARGET})", "eager kernel"], rows)
    extra = [f"{k}: {v:.1f}" for k, v in summary.items() if k.startswith("first use")]
    loads = [f"{r['load before']:.1f}->{r['load after']:.1f}" for r in rounds]
    return "\n".join([text, *extra, "load average per round: " + ", ".join(loads)]), summary


def main() -> None:
    parser = arguments(
        __doc__,
        quick="one round of epochs, no cost or first-use rows",
        json="write the results here (default benchmarks/results/bench_kernels.json)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of epochs (default 3)")
    parser.add_argument("--epochs", type=int, default=8, help="timed epochs per fit (default 8)")
    args = parser.parse_args()
    set_threads(1)
    rounds: list[dict[str, float]] = []
    for i in range(1 if args.quick else args.rounds):
        result = {"load before": os.getloadavg()[0]}
        for task in TASKS:
            log(f"round {i + 1}: {task} ...")
            result.update(epoch_round(task, args.epochs))
        if not args.quick and i == 0:
            log("cost ...")
            result.update(cost_rows())
            log("first use ...")
            result.update(first_use_rows())
        result["load after"] = os.getloadavg()[0]
        rounds.append(result)
    text, summary = report(rounds)
    print("afsearch kernels: epoch ratios to ReLU (median over rounds), torch on 1 thread")
    print(text)
    data = {**run_info("bench_kernels", False), "summary": summary, "rounds": rounds}
    data["mode"] = "quick" if args.quick else "default"
    data["command"] = " ".join(["python benchmarks/bench_kernels.py", *sys.argv[1:]])
    print(f"wrote {save(data, 'bench_kernels', args.json)}")


if __name__ == "__main__":
    main()
