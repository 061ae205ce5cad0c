"""Benchmark of the command line as whole processes: this code against an earlier commit's.

    python benchmarks/bench_cli.py                 # 5 runs of each command on each side
    python benchmarks/bench_cli.py --quick         # 3 runs
    python benchmarks/bench_cli.py --before REV    # compare with another commit (default below)

The earlier code is checked out with ``git worktree add`` (in ``/tmp/afsearch-before-REV``,
kept for the next run) and run with this interpreter and ``PYTHONPATH`` pointing at it, so both
sides use the same installed libraries. Each command runs as ``afsearch ARGS`` in a fresh
process, the two sides taking turns run by run so that background load on a shared machine hits
them alike; the table gives the median wall time and CPU time (user + system: less sensitive
to other processes on the machine) of each side and their ratios. Each side reads a
database it wrote itself (a study of 20 finished trials, with epochs), and ``launch`` is given
a space file with a misspelt key, so it times how long a typo takes to its error.

Target (issue 11): 1 s or less for the commands that train nothing.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _common

#: The last commit before the command line imported Ray, pandas and torch only where needed.
BEFORE = "20da2ec"
TARGET_S = 1.0

#: Writes the database a side's commands read, with that side's own code.
MAKE_DB = """
import sys
from afsearch.store import TrialStore
url = sys.argv[1]
with TrialStore(url) as store:
    store.create_study("bench", space={}, task="digits-mlp", metric="val_accuracy", mode="max",
                       sampler="random", scheduler="none", num_samples=20)
    for n in range(20):
        alpha = 0.1 + 0.09 * n
        config = {"activation": {"family": "elu", "alpha": alpha}, "metric": "val_accuracy",
                  "expression": "Piecewise((x, x > 0), (alpha*(exp(x) - 1), True))"}
        tid = store.start_trial("bench", tune_trial_id=f"t{n}", number=n, config=config)
        store.record_epochs(tid, [(e, {"val_accuracy": 0.5 + 0.01 * n + 0.02 * e,
                                       "train_loss": 1.0 / e, "epoch": float(e),
                                       "final": float(e == 4)}, 0.5 + 0.01 * n + 0.02 * e)
                                  for e in range(1, 5)])
        store.finish_trial(tid, status="completed", metric_value=0.58 + 0.01 * n, best_epoch=4)
"""

LIGHT_SPACE = """task: {name: digits-mlp, epochs: 2}
families:
  - family: elu
    alpha: {low: 0.1, high: 2.0}
  - family: swish
    beta: {low: 0.5, high: 2.0}
"""


def commands(folder: Path) -> list[tuple[str, list[str], bool]]:
    """(name, arguments, trains nothing) of each command timed."""
    quickstart = str(_common.ROOT / "search_spaces" / "quickstart.yaml")
    return [
        ("--help", ["--help"], True),
        ("families", ["families"], True),
        ("tasks", ["tasks"], True),
        ("validate (elu, swish)", ["validate", str(folder / "light.yaml")], True),
        ("validate quickstart (fits SLAF)", ["validate", quickstart], True),
        ("studies", ["studies"], True),
        ("trials", ["trials", "--study", "bench"], True),
        ("show", ["show", "bench/3"], True),
        (
            "export-expr",
            ["export-expr", "x*sigmoid(b*x)", "--param", "b=1.5", "--out", str(folder / "out")],
            True,
        ),
        ("launch with a typo", ["launch", str(folder / "typo.yaml")], False),
    ]


def worktree(rev: str) -> Path:
    path = Path(f"/tmp/afsearch-before-{rev}")
    if not (path / "afsearch").is_dir():
        subprocess.run(
            ["git", "-C", str(_common.ROOT), "worktree", "add", "--detach", "-f", str(path), rev],
            check=True,
            capture_output=True,
        )
    return path


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_once(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds (user + system) of one ``afsearch ARGS`` process, its exit code."""
    start, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(
        [_common.AFSEARCH_CLI, *args], env=env, cwd=cwd, capture_output=True, timeout=300
    )
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if proc.returncode and "launch" not in args:
        _common.log(f"afsearch {' '.join(args)}: {proc.stderr.decode(errors='replace')[-300:]}")
    return seconds, cpu, proc.returncode


def main() -> None:
    parser = _common.arguments(
        __doc__, quick="3 runs of each command", json="where to write the result"
    )
    parser.add_argument("--before", default=BEFORE, help=f"the commit (default {BEFORE})")
    parser.add_argument("--runs", type=int, default=None, help="runs of each command per side")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    sides = {"before": worktree(args.before), "after": _common.ROOT}
    with _common.workdir() as work:
        (work / "light.yaml").write_text(LIGHT_SPACE)
        (work / "typo.yaml").write_text(LIGHT_SPACE + "sampeler: tpe\n")
        envs = {}
        for side, code in sides.items():
            url = f"sqlite:///{work / side}.db"
            env = {**os.environ, "PYTHONPATH": str(code), "AFSEARCH_DB": url}
            # In the work folder: "-c" puts the working directory first on sys.path.
            subprocess.run([sys.executable, "-c", MAKE_DB, url], env=env, cwd=work, check=True)
            envs[side] = env
        rows, results = [], []
        for name, argv, light in commands(work):
            times: dict[str, list[float]] = {"before": [], "after": []}
            cpus: dict[str, list[float]] = {"before": [], "after": []}
            codes = {}
            for _ in range(runs):
                for side in sides:
                    seconds, cpu, codes[side] = run_once(argv, envs[side], work)
                    times[side].append(seconds)
                    cpus[side].append(cpu)
            before, after = (statistics.median(times[s]) for s in ("before", "after"))
            cpu_b, cpu_a = (statistics.median(cpus[s]) for s in ("before", "after"))
            _common.log(f"{name}: {before:.2f} s -> {after:.2f} s (exit {codes})")
            met = "yes" if after <= TARGET_S else "no"
            rows.append(
                [
                    name,
                    f"{before:.2f}",
                    f"{after:.2f}",
                    f"{after / before:.2f}",
                    f"{cpu_b:.2f}",
                    f"{cpu_a:.2f}",
                    f"{cpu_a / cpu_b:.2f}",
                    met if light else "-",
                ]
            )
            results.append(
                {
                    "command": name,
                    "args": argv,
                    "exit": codes,
                    "wall_s": times,
                    "cpu_s": cpus,
                    "median_wall_s": {"before": before, "after": after},
                    "median_cpu_s": {"before": cpu_b, "after": cpu_a},
                }
            )
    print(f"afsearch as whole processes, medians of {runs} runs (before: {args.before})\n")
    print(
        _common.table(
            [
                "command",
                "wall before s",
                "wall after s",
                "ratio",
                "CPU before s",
                "CPU after s",
                "ratio",
                f"wall <= {TARGET_S:g} s",
            ],
            rows,
            "lrrrrrrl",
        )
    )
    info = _common.run_info("bench_cli", False) | {"before": args.before, "runs": runs}
    path = _common.save(info | {"commands": results}, "bench_cli", args.json)
    _common.log(f"wrote {path}")


if __name__ == "__main__":
    main()
