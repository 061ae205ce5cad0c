"""Make the table of trained activation functions that strategies are replayed on.

    python benchmarks/make_table.py                     # 1,200 functions x 3 tasks x 2 seeds
    python benchmarks/make_table.py --limit 20 --tasks digits-mlp --seeds 1 \\
        --out /tmp/small.parquet                        # a small part, well under two minutes
    python benchmarks/make_table.py --address HOST:6379 # on a Ray cluster
    python benchmarks/make_table.py --write-only        # the table from what is done so far

Draws ``--functions`` distinct functions (distinct by ``afsearch.compiler.activation_id``):
the 12 standard activations first, then, seeded by ``--draw-seed``, 60% operator trees of
depth 1 or 2 (the grammar family of ``search_spaces/grammar.yaml``), 25% parametric samples
(the families of ``search_spaces/parametric.yaml``, TAAF with its four values searched) and 15%
rational (PAU) samples of degrees 2-6 over 1-4 fitted to one of five activations. Each function
trains on every task of :data:`TASKS` for ``--seeds`` training seeds, as a search trial trains
it (the task's ``fit`` with ``afsearch.tasks.ActivationFactory``, one torch thread), on Ray: a
local instance of ``--cpus`` CPUs, or the cluster at ``--address``. Recorded per training: the
validation metric after every epoch (``curve``), the test metric, the wall time; per function
and task: the activation's cost relative to ReLU as trials report it and the prescreen's init
signal; per function: the prescreen's output features (or why it filters the function out).

Resumable: each finished (function, task) appends its lines to ``<out>.parts/<task>.jsonl``,
and a rerun skips what is there; the drawn functions are kept in ``functions.jsonl`` beside
them. ``--limit N`` trains the first N functions only (the draw is prefix-stable: the first N
of any larger draw). At the end, and with ``--write-only``, everything done so far is written
to ``--out`` (Parquet, zstd; the columns are in ``afsearch.search.TABLE_COLUMNS`` and
docs/TABLE.md). Progress goes to stderr.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from _common import BENCHMARKS, ROOT, arguments, log, machine

from afsearch.activations import build, kind_of, random_suggester, sample_family
from afsearch.compiler import activation_id
from afsearch.exceptions import AfsearchError
from afsearch.search import output_features, read_table, write_table
from afsearch.space import parse_space
from afsearch.tasks import get_task

DEFAULT_OUT = BENCHMARKS / "tables" / "activations.parquet"

#: Tasks and epochs: a training of 0.3-2.5 s on one loaded CPU core whose ranking of the
#: functions is already the task's (see docs/TABLE.md, "Tasks").
TASKS: dict[str, int] = {"digits-mlp": 10, "teacher-student": 20, "mnist1d-mlp": 15}

#: The baselines, trained first, which evolution's ``initial`` and the prescreen's anchors name.
STANDARD = (
    "relu",
    "leaky_relu",
    "gelu",
    "silu",
    "mish",
    "elu",
    "selu",
    "softplus",
    "tanh",
    "sigmoid",
    "identity",
    "sin",
)
#: Shares of the random draws.
KINDS: dict[str, float] = {"grammar": 0.6, "parametric": 0.25, "rational": 0.15}
#: Where a table family differs from the shipped YAML: more functions than the YAML's choices.
WIDENED: dict[str, dict[str, Any]] = {
    "taaf": {
        "family": "taaf",
        "base": ["relu", "tanh", "silu"],
        "a": {"low": 0.25, "high": 4.0, "log": True},
        "b": {"low": 0.25, "high": 4.0, "log": True},
        "c": {"low": -2.0, "high": 2.0},
        "d": {"low": -2.0, "high": 2.0},
        "trainable": [False, True],
    },
    "rational": {
        "family": "rational",
        "m": {"low": 2, "high": 6},
        "n": {"low": 1, "high": 4},
        "init": ["leaky_relu", "gelu", "silu", "tanh", "elu"],
        "interval": [2.0, 3.0, 4.0],
        "trainable": [False, True],
    },
}
#: Draws per function asked for before giving up.
DRAWS_PER_FUNCTION = 50
#: Jobs in flight per CPU of the cluster, so a worker never waits for the driver.
IN_FLIGHT_PER_CPU = 2


def table_families() -> list[dict[str, Any]]:
    """The search space the functions are drawn from, as a space's ``families:``."""
    raw = [
        yaml.safe_load((ROOT / "search_spaces" / f).read_text())["families"]
        for f in ("grammar.yaml", "parametric.yaml")
    ]
    return [WIDENED.get(f["family"], f) for f in raw[0] + raw[1]]


# --- the functions --------------------------------------------------------------------------


def _record(config: dict[str, Any], label: str) -> dict[str, Any] | None:
    """What the table keeps of a function that is not in it yet; None if it does not build."""
    try:
        candidate = build(config)
        ident = activation_id(candidate)
    except AfsearchError:
        return None
    got = output_features(config)
    return {
        "activation_id": ident,
        "kind": kind_of(config),
        "family": str(config["family"]),
        "label": label,
        "config": config,
        "expression": candidate.text,
        "trainable_params": len(candidate.trainable),
        "screen": got if isinstance(got, str) else None,
        "features": None if isinstance(got, str) else [float(v) for v in got],
    }


def draw(n: int, seed: int, families: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first ``n`` distinct functions: the standard ones, then seeded random draws."""
    space = parse_space(
        {"name": "table", "task": "digits-mlp", "sampler": "random", "families": families},
        source="make_table",
    )
    by_kind: dict[str, list[Any]] = {}
    for fs in space.families:
        by_kind.setdefault(kind_of({"family": fs.family}), []).append(fs)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(config: dict[str, Any], label: str) -> None:
        rec = _record(config, label)
        if rec is not None and rec["activation_id"] not in seen:
            seen.add(rec["activation_id"])
            out.append({"function": len(out), **rec})

    for name in STANDARD[:n]:
        add({"family": "standard", "name": name}, "standard")
    rng, draws = random.Random(seed), 0
    kinds, weights = list(KINDS), list(KINDS.values())
    while len(out) < n:
        draws += 1
        if draws > DRAWS_PER_FUNCTION * n:
            raise AfsearchError(
                f"{draws - 1} draws gave only {len(out)} distinct functions of the {n} asked "
                "for; ask for fewer with --functions."
            )
        fs = rng.choice(by_kind[rng.choices(kinds, weights)[0]])
        add(sample_family(fs, random_suggester(rng), fs.label), fs.label)
        if len(out) % 100 == 0 and out:
            log(f"drew {len(out)}/{n} functions")
    return out


def functions(parts: Path, n: int, seed: int, families: list[dict[str, Any]]) -> list[dict]:
    """Every function of ``functions.jsonl`` when it holds the first ``n`` of this draw, else
    the first ``n`` drawn (and the file written)."""
    path = parts / "functions.jsonl"
    head = {"draw_seed": seed, "families": families}
    if path.is_file():
        lines = path.read_text().splitlines()
        if lines and json.loads(lines[0]) == json.loads(json.dumps(head)) and len(lines) > n:
            return [json.loads(line) for line in lines[1:]]
    log(f"drawing {n} functions (seed {seed})")
    drawn = draw(n, seed, families)
    parts.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(x, sort_keys=True) for x in [head, *drawn]) + "\n"
    path.write_text(text)
    return drawn


# --- training, on a Ray worker ----------------------------------------------------------------

_TASKS: dict[str, Any] = {}
_PROBES: dict[str, Any] = {}


def _cached(cache: dict[str, Any], key: str, make: Any) -> Any:
    if key not in cache:
        cache[key] = make()
    return cache[key]


def train_function(
    function: Mapping[str, Any], task: str, settings: Mapping[str, Any], seeds: list[int]
) -> list[dict[str, Any]]:
    """Train one function on ``task`` once per seed, as a search trial trains it; one line
    per seed. The task (its data) and its init probe are built once per worker."""
    import torch

    from afsearch.search import InitProbe, init_signal
    from afsearch.tasks import ActivationFactory, TaskSettings

    torch.set_num_threads(1)
    key = json.dumps([task, settings], sort_keys=True)
    values = TaskSettings(**settings)
    t = _cached(_TASKS, key, lambda: get_task(task, values))
    probe = _cached(_PROBES, key, lambda: InitProbe(task, values))
    config = function["config"]
    factory = ActivationFactory(build(config), [function["activation_id"]], "auto", t.derivatives)
    ntk = init_signal(probe, config)
    lines = [_train_seed(t, factory, seed) for seed in seeds]
    cost = factory.cost()
    shared = {
        "function": function["function"],
        "activation_id": function["activation_id"],
        "task": task,
        "epochs": values.epochs,
        "cost_time": cost.time,
        "cost_memory": cost.memory,
        "init_screen": ntk if isinstance(ntk, str) else None,
        "init_ntk": None if isinstance(ntk, str) else [float(v) for v in ntk],
    }
    return [{**shared, **line} for line in lines]


def _train_seed(task: Any, factory: Any, seed: int) -> dict[str, Any]:
    start = time.perf_counter()
    curve: list[float] = []
    last, error = None, None
    try:
        for result in task.fit(factory.maker(), seed=seed):
            last = result
            curve.append(float(result.metrics.get(task.metric, float("nan"))))
            epochs = task.settings.epochs
            factory.after_epoch(result.epoch, result.metrics.get("epoch_seconds"), epochs)
    except Exception as exc:  # a function that breaks the training is a row, not a crash
        error = f"{type(exc).__name__}: {exc}"[:300]
    diverged = bool(last is not None and last.diverged)
    metrics = {} if last is None else last.metrics
    value = None if (diverged or error or last is None) else metrics.get(task.metric)
    test_name = task.metric.replace("val_", "test_", 1)
    return {
        "seed": seed,
        "value": value,
        "curve": curve,
        "test_value": None if value is None else metrics.get(test_name),
        "train_loss": metrics.get("train_loss"),
        "diverged": diverged,
        "error": error,
        "seconds": time.perf_counter() - start,
    }


# --- the driver -------------------------------------------------------------------------------


def read_done(path: Path) -> set[tuple[str, int]]:
    """(activation id, seed) of every line of a shard; a line cut short by a crash is left."""
    done: set[tuple[str, int]] = set()
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            done.add((row["activation_id"], int(row["seed"])))
    return done


def jobs(
    todo: list[dict], tasks: list[str], seeds: list[int], parts: Path
) -> Iterator[tuple[dict, str, list[int]]]:
    """(function, task, seeds not trained yet), task by task so a partial table is usable."""
    for task in tasks:
        done = read_done(parts / f"{task}.jsonl")
        for f in todo:
            missing = [s for s in seeds if (f["activation_id"], s) not in done]
            if missing:
                yield f, task, missing


def settings_of(task: str) -> dict[str, Any]:
    t = get_task(task)
    return dataclasses.asdict(dataclasses.replace(t.settings, epochs=TASKS[task]))


def train_all(args: Any, todo: list[dict], parts: Path) -> dict[str, Any]:
    """Train every missing (function, task, seed) on Ray; returns what this run did."""
    import ray

    from afsearch.orchestrator import init_ray

    seeds = list(range(args.seeds))
    queue = list(jobs(todo, args.tasks, seeds, parts))
    run: dict[str, Any] = {"jobs": len(queue), "trainings": sum(len(j[2]) for j in queue)}
    if not queue:
        log("nothing to train: every function, task and seed asked for is done")
        return run
    started = time.perf_counter()
    init_ray(args.address, None if args.address else args.cpus, None)
    try:
        remote = ray.remote(num_cpus=1, max_retries=1)(train_function)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        run["cluster_cpus"] = cpus
        settings = {t: settings_of(t) for t in args.tasks}
        log(f"training {run['trainings']} runs ({len(queue)} jobs) on {cpus} CPUs")
        waiting = iter(queue)
        flying: dict[Any, tuple[dict, str, list[int]]] = {}

        def submit() -> None:
            job = next(waiting, None)
            if job is not None:
                f, task, missing = job
                flying[remote.remote(f, task, settings[task], missing)] = job

        for _ in range(IN_FLIGHT_PER_CPU * cpus):
            submit()
        finished, failed, cpu_s = 0, 0, 0.0
        while flying:
            (ref,), _ = ray.wait(list(flying), num_returns=1)
            f, task, _missing = flying.pop(ref)
            submit()
            try:
                lines = ray.get(ref)
            except ray.exceptions.RayError as exc:
                failed += 1
                log(
                    f"  {task} {f['activation_id']}: the job failed ({type(exc).__name__}); "
                    "a rerun tries it again"
                )
                continue
            with open(parts / f"{task}.jsonl", "a") as shard:
                shard.writelines(json.dumps(line) + "\n" for line in lines)
            finished += 1
            cpu_s += sum(line["seconds"] for line in lines)
            elapsed = time.perf_counter() - started
            eta = elapsed / finished * (len(queue) - finished - failed)
            shown = " ".join("-" if x["value"] is None else f"{x['value']:.4g}" for x in lines)
            log(
                f"[{finished}/{len(queue)}] {task} {f['function']} {f['kind']} {shown} "
                f"({sum(x['seconds'] for x in lines):.1f} s)  eta {eta / 60:.1f} min"
            )
        run.update(failed=failed, training_s=round(cpu_s, 1))
    finally:
        ray.shutdown()
    run["wall_s"] = round(time.perf_counter() - started, 1)
    return run


def rows(parts: Path, known: list[dict]) -> list[dict[str, Any]]:
    """Every trained line joined with its function: the table's rows."""
    by_id = {f["activation_id"]: f for f in known}
    out = []
    for shard in sorted(parts.glob("*.jsonl")):
        if shard.name in ("functions.jsonl", "runs.jsonl"):
            continue
        seen: set[tuple[str, int]] = set()
        for line in shard.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            f = by_id.get(row["activation_id"])
            key = (row["activation_id"], int(row["seed"]))
            if f is None or key in seen:
                continue
            seen.add(key)
            t = get_task(row["task"])
            out.append(
                {
                    **{k: f[k] for k in ("function", "activation_id", "kind", "family")},
                    "config": json.dumps(f["config"], sort_keys=True),
                    "expression": f["expression"],
                    "trainable_params": f["trainable_params"],
                    "metric": t.metric,
                    "mode": t.mode,
                    "screen": f["screen"],
                    "features": f["features"],
                    **{k: row[k] for k in row if k not in ("function", "activation_id")},
                }
            )
    return sorted(out, key=lambda r: (r["task"], r["function"], r["seed"]))


def write(args: Any, parts: Path, known: list[dict], families: list[dict]) -> None:
    table = rows(parts, known)
    if not table:
        log(f"nothing trained yet in {parts}: no table written")
        return
    tasks = sorted({r["task"] for r in table})
    runs_log = parts / "runs.jsonl"
    runs = [json.loads(x) for x in runs_log.read_text().splitlines()] if runs_log.is_file() else []
    meta = {
        "made_by": "benchmarks/make_table.py",
        "families": families,
        "kinds": KINDS,
        "draw_seed": args.draw_seed,
        "seeds": sorted({r["seed"] for r in table}),
        "tasks": {
            t: {
                "settings": settings_of(t),
                "metric": get_task(t).metric,
                "mode": get_task(t).mode,
            }
            for t in tasks
        },
        "runs": runs,
    }
    path = write_table(table, args.out, meta)
    frame, _ = read_table(path)
    n = frame.activation_id.nunique()
    log(
        f"wrote {len(frame)} rows ({n} functions, tasks {', '.join(tasks)}) to {path} "
        f"({path.stat().st_size / 1e6:.2f} MB)"
    )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--functions", type=int, default=1200, help="distinct functions drawn")
    parser.add_argument("--limit", type=int, help="train only the first N functions")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), help=f"of {list(TASKS)}")
    parser.add_argument("--seeds", type=int, default=2, help="training seeds 0..N-1")
    parser.add_argument("--draw-seed", type=int, default=0, help="seed of the random draws")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the table (Parquet)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    parser.add_argument("--address", help="Ray cluster address (default: local Ray)")
    parser.add_argument("--write-only", action="store_true", help="write the table, train none")
    args = parser.parse_args()
    for name in ("functions", "seeds", "cpus", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            sys.exit(f"make_table.py: --{name} must be at least 1, got {value}.")
    unknown = [t for t in args.tasks if t not in TASKS]
    if unknown:
        sys.exit(f"make_table.py: the table's tasks are {', '.join(TASKS)}; got {unknown[0]!r}.")
    parts = args.out.with_name(args.out.name + ".parts")
    families = table_families()
    try:
        n = min(args.functions, args.limit or args.functions)
        known = functions(parts, n, args.draw_seed, families)
        if not args.write_only:
            start = time.strftime("%Y-%m-%d %H:%M:%S %Z")
            run = train_all(args, known[:n], parts)
            run.update(started=start, argv=sys.argv[1:], machine=machine(), pid=os.getpid())
            if run["jobs"]:
                with open(parts / "runs.jsonl", "a") as f:
                    f.write(json.dumps(run) + "\n")
        write(args, parts, known, families)
    except AfsearchError as exc:
        sys.exit(f"make_table.py: {exc}")


if __name__ == "__main__":
    main()
