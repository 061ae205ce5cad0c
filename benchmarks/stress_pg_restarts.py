"""Fault injection: PostgreSQL restarted again and again while studies run.

    python benchmarks/stress_pg_restarts.py                   # 10 studies, restarts every 0.3-2 s
    python benchmarks/stress_pg_restarts.py --studies 20 --every 0.5 6

Starts a throwaway PostgreSQL server (``afsearch.testing.PgServer``, from the machine's
binaries, as the tests do), launches small ``digits-mlp`` studies one after another with
``afsearch launch`` and restarts the server at random intervals while each runs, from the moment
the launch has opened the database (its study row exists) to the leaderboard. A launch whose very
first connection fails says so at once instead, by design, so the restarts wait for it. A study
passes when the launch exits 0 and every trial is ``completed`` with all its epochs stored.
Prints one line per study and the pass count, and writes
``benchmarks/results/stress_pg_restarts.json`` (``--json PATH`` elsewhere).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import yaml
from _common import AFSEARCH_CLI, Stopwatch, arguments, machine, save, workdir

from afsearch.exceptions import AfsearchError
from afsearch.store import epochs, studies, trials
from afsearch.testing import PgServer, find_bin


def _space(path: Path, n_trials: int, n_epochs: int) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "digits-mlp", "epochs": n_epochs, "options": {"width": 16}},
                "scheduler": "none",
                "num_samples": n_trials,
                "max_concurrent": 1,
                "families": [
                    {"family": "swish", "beta": {"low": 0.5, "high": 2.0}},
                    {"family": "elu", "alpha": {"low": 0.2, "high": 2.0}},
                ],
            }
        )
    )
    return path


def _opened(name: str, url: str) -> bool:
    try:
        return any(s.name == name for s in studies(url))
    except AfsearchError:
        return False


def _check(name: str, url: str, n_trials: int, n_epochs: int) -> str:
    rows = trials(name, url)
    if len(rows) != n_trials:
        return f"{len(rows)} trials stored, {n_trials} expected"
    for t in rows:
        if t.status.value != "completed":
            return f"trial {t.number} is {t.status.value}"
        got = [e.epoch for e in epochs(t.id, url)]
        if got != list(range(1, n_epochs + 1)):
            return f"trial {t.number} has epochs {got}"
    return ""


def main() -> None:
    parser = arguments(__doc__, json="output file (default benchmarks/results/)")
    parser.add_argument("--studies", type=int, default=10, help="studies launched in turn")
    parser.add_argument("--trials", type=int, default=10, help="trials per study")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per trial")
    parser.add_argument(
        "--every",
        type=float,
        nargs=2,
        default=(0.3, 2.0),
        metavar=("LO", "HI"),
        help="seconds between restarts, drawn uniformly",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the restart times")
    args = parser.parse_args()
    bindir = find_bin()
    if bindir is None:
        sys.exit("PostgreSQL's binaries were not found; install Debian's postgresql package.")
    rng = random.Random(args.seed)
    server = PgServer(bindir)
    server.start()
    results = []
    try:
        with workdir() as tmp:
            space = _space(tmp / "space.yaml", args.trials, args.epochs)
            for k in range(args.studies):
                name = f"stress-{k}"
                clock = Stopwatch()
                command = [AFSEARCH_CLI, "launch", str(space), "--study", name, "--db", server.url]
                proc = subprocess.Popen(
                    [*command, "--num-cpus", "1", "--quiet", "--no-reuse"],
                    env={**os.environ, "AFSEARCH_RUNS": str(tmp / "runs")},
                    cwd=tmp,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                restarts = 0
                while proc.poll() is None and not _opened(name, server.url):
                    time.sleep(0.05)
                while proc.poll() is None:
                    time.sleep(rng.uniform(*args.every))
                    if proc.poll() is None:
                        server.restart()
                        restarts += 1
                out = proc.stdout.read() if proc.stdout else ""
                problem = (
                    f"exit {proc.returncode}: {out.strip().splitlines()[-1] if out.strip() else ''}"
                    if proc.returncode
                    else _check(name, server.url, args.trials, args.epochs)
                )
                seconds = clock.seconds
                results.append(
                    {"study": name, "restarts": restarts, "seconds": seconds, "problem": problem}
                )
                print(
                    f"{name}: {restarts} restarts in {seconds:.0f} s: {problem or 'all rows'}",
                    flush=True,
                )
    finally:
        server.stop()
    passed = sum(not r["problem"] for r in results)
    print(f"{passed}/{len(results)} studies complete with every trial and epoch stored")
    data = {"args": vars(args), "machine": machine(), "passed": passed, "studies": results}
    path = save(data, "stress_pg_restarts", args.json)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
