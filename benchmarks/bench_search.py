"""Does a search beat the best standard activation? Five search spaces, a fixed trial budget.

    python benchmarks/bench_search.py --quick   # digits-mlp (10 epochs) and mnist1d-mlp (20 of
                                                # 60 epochs), 12 trials a space: 5-7.5 min, 2 cores
    python benchmarks/bench_search.py --full    # digits-mlp, mnist1d-mlp, mnist1d-cnn at their
                                                # default epochs, 100 trials a space

For each task and each space (SLAF without the ReLU mix, SLAF with ``relu_mix: 1.0``, parametric
families, ensembles, operator grammar) it launches a study with ``launch(..., num_cpus=2,
seed=1)`` and takes its best finished trial. Each space is a shipped file (``SPACE_FILES``:
``search_spaces/{slaf,parametric,ensemble,grammar}.yaml``; TPE, ASHA, one training seed per
trial) with the benchmark's task in place of the file's (its epochs as below, every other
setting at the task's default: slaf.yaml's searched learning rate is left out so that only the
activation differs), the benchmark's ASHA grace period and trial budget, and for the two SLAF
spaces the file's ``relu_mix`` choice fixed to one of its values. That activation is re-trained
*as searched* (``trial_candidate(t, learned=False)``: its initial values; trainable parameters
are trained again) on the 5 fresh seeds 10000..10004 with the task's *default* settings (those
of ``bench_baselines``; ``--quick`` searches mnist1d-mlp at 20 epochs as a cheap proxy but
re-trains at 60), next to the task's best baseline on the same seeds and settings. The best
baseline is the best mean of ``bench_baselines.json`` (``_full`` with ``--full``) for that task
when it exists, else the best of relu, gelu and silu re-trained here. Reported: mean ± std of
the task metric and of the test accuracy, Welch's t and two-sided p on the task metric, and the
verdict of ``afsearch.confirm.judge`` (better / worse at p < 0.05, else tie).

Cost of ``--full``: 3 tasks x 5 spaces x 100 trials = 1,500 trials, plus 3 x 6 x 5 re-trainings.
On 2 CPU cores, the wall time per trial measured by ``--quick`` (about 1 s on digits-mlp and
2 s on mnist1d-mlp at 20 epochs, two at a time, ASHA stopping two thirds early) extrapolates to
~5 s (mnist1d-mlp) and ~12 s (mnist1d-cnn) at 60 epochs: 2 to 3 hours in all. On a Ray cluster
(``--address HOST:PORT --max-concurrent 16``) it divides by the workers; a GPU does not help
these small networks much, as their steps are dominated by Python overhead.

The databases and Ray run folders go to a temporary directory (``--workdir`` keeps them).
Writes ``benchmarks/results/bench_search.json`` (``bench_search_full.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    Stopwatch,
    add_launch_options,
    add_training_options,
    arguments,
    fmt_p,
    launch_kwargs,
    log,
    pm,
    result_path,
    run_info,
    save,
    set_threads,
    table,
    workdir,
    write_json,
)

from afsearch.confirm import judge
from afsearch.exceptions import shorten
from afsearch.orchestrator import launch
from afsearch.results import compare, fresh_seeds, trial_candidate
from afsearch.search import check_space
from afsearch.space import SearchSpace, load_space, parse_space
from afsearch.store import trials
from afsearch.tasks import get_task

SEARCH_SEED = 1

#: Each space's shipped file under search_spaces/.
SPACE_FILES: dict[str, str] = {
    "slaf": "slaf.yaml",
    "slaf-relu-mix": "slaf.yaml",
    "parametric": "parametric.yaml",
    "ensemble": "ensemble.yaml",
    "grammar": "grammar.yaml",
}
#: slaf.yaml searches ``relu_mix: [null, 1.0]``; each SLAF space here takes one of the two.
RELU_MIX: dict[str, float | None] = {"slaf": None, "slaf-relu-mix": 1.0}

# (epochs, ASHA grace period) per task; None epochs: the task's default.
QUICK_TASKS = {"digits-mlp": (10, 3), "mnist1d-mlp": (20, 5)}
FULL_TASKS = {"digits-mlp": (None, 3), "mnist1d-mlp": (None, 10), "mnist1d-cnn": (None, 10)}


def space_raw(name: str) -> dict[str, Any]:
    """The shipped file of space ``name`` as loaded (a copy), its SLAF ``relu_mix`` fixed."""
    raw = json.loads(json.dumps(load_space(ROOT / "search_spaces" / SPACE_FILES[name]).raw))
    if name in RELU_MIX:
        for family in raw["families"]:
            if family["family"] == "slaf":
                family["relu_mix"] = RELU_MIX[name]
    return raw


def make_space(name: str, task: str, epochs: int | None, grace: int, budget: int) -> SearchSpace:
    """The shipped space ``name`` searching ``task`` (``epochs`` epochs, else its default; its
    other settings at their defaults), with the grace period and budget of this benchmark."""
    raw = space_raw(name)
    task_raw: dict[str, Any] = {"name": task}
    if epochs is not None:
        task_raw["epochs"] = epochs
    raw.update(name=name, task=task_raw, grace_period=grace, num_samples=budget)
    source = f"search_spaces/{SPACE_FILES[name]} (bench_search:{name})"
    space = parse_space(raw, source=source, default_name=name)
    check_space(space)
    return space


def verdict(a: list[float], b: list[float], mode: str) -> dict[str, Any]:
    """``a`` (a searched activation) against ``b`` (the baseline) by ``afsearch.confirm.judge``
    (one candidate, so no Holm correction): Welch's t and p, the difference of means with its
    95% interval, and better / worse at p < 0.05, else tie."""
    row = judge([("search", None, a)], [("baseline", b)], mode)[0]
    return {
        "t": row["t"],
        "p": row["p_value"],
        "delta": row["delta"],
        "ci": [row["ci_low"], row["ci_high"]],
        "verdict": row["verdict"],
    }


def search(space: Any, study: str, url: str, runs: Path, args: argparse.Namespace) -> dict:
    clock = Stopwatch()
    launch(
        space,
        study=study,
        url=url,
        runs_dir=runs,
        gpus_per_trial=args.gpus_per_trial,
        seed=SEARCH_SEED,
        **launch_kwargs(args),
    )
    wall = clock.seconds
    rows = trials(study, url)
    counts: dict[str, int] = {}
    for t in rows:
        counts[t.status.value] = counts.get(t.status.value, 0) + 1
    best = trials(study, url, top=1, status=["completed", "duplicate"])
    info: dict[str, Any] = {"study": study, "wall_s": wall, "trials": len(rows), "status": counts}
    if best:
        t = best[0]
        cand = trial_candidate(t, learned=False)
        info.update(
            best_number=t.number,
            best_value=t.metric_value,
            best_expression=cand.text,
            best_family=t.activation.family if t.activation else None,
            best_candidate=cand.to_dict(),
            best_learned=t.learned_params,
            best_config=(t.config or {}).get("activation"),
        )
        info["_candidate"] = cand
    return info


def pick_baseline(task: str, full: bool) -> tuple[list[str], str]:
    """Baselines to re-train for ``task``: the best one of bench_baselines, else three."""
    for path in (result_path("bench_baselines", full), result_path("bench_baselines")):
        if path.exists():
            data = json.loads(path.read_text())
            if task in data.get("tasks", {}):
                return [data["tasks"][task]["best"]], f"best of {path.name}"
    return ["relu", "gelu", "silu"], "best of relu/gelu/silu re-trained here"


def evaluate(
    task: str, settings: Any, searches: dict[str, dict], args: argparse.Namespace, full: bool
) -> dict[str, Any]:
    names, source = pick_baseline(task, full)
    seeds = fresh_seeds(args.seeds)
    named: list[tuple[str, Any]] = [(n, {"family": "standard", "name": n}) for n in names]
    named += [
        (f"search:{s}", info["_candidate"]) for s, info in searches.items() if "_candidate" in info
    ]

    def progress(name: str, seed: int, r: Any) -> None:
        m = "diverged" if r.metric is None else f"{r.metric:.4f}"
        log(f"  re-train {task} {name} seed {seed}: {m}")

    comps = compare(
        named, task, seeds=seeds, settings=settings, device=args.device, progress=progress
    )
    runs = {}
    for c in comps:
        test = [r.test.get("test_accuracy") for r in c.runs if not r.diverged]
        runs[c.name] = {
            "values": c.values,
            "mean": c.mean,
            "std": c.std,
            "diverged": sum(r.diverged for r in c.runs),
            "test_accuracy": test,
        }
    mode = comps[0].mode
    base_names = [c.name for c in comps if not c.name.startswith("search:")]
    pick = max if mode == "max" else min
    baseline = pick(base_names, key=lambda n: runs[n]["mean"])
    base = runs[baseline]
    out: dict[str, Any] = {
        "baseline": baseline,
        "baseline_source": source,
        "seeds": seeds,
        "metric": comps[0].metric,
        "mode": mode,
        "runs": runs,
        "spaces": {},
    }
    for s in searches:
        r = runs.get(f"search:{s}")
        if r is None:
            continue
        # A diverged seed counts as the worst result, not as a missing one.
        vals = r["values"] + [0.0] * r["diverged"] if mode == "max" else r["values"]
        out["spaces"][s] = verdicts(vals, r["test_accuracy"], base, mode)
    return out


def verdicts(
    values: list[float], test: list[float | None], base: dict[str, Any], mode: str
) -> dict[str, Any]:
    """The :func:`verdict` of a search's re-trained values on the task metric and on the test
    accuracy, against the baseline's runs ``base``."""
    return {
        "metric": verdict(values, base["values"], mode),
        "test_accuracy": verdict(
            [x for x in test if x is not None],
            [x for x in base["test_accuracy"] if x is not None],
            "max",
        ),
    }


def report(data: dict[str, Any]) -> str:
    parts = []
    rows = []
    for task, d in data["tasks"].items():
        for s, info in d["searches"].items():
            st = info["status"]
            rows.append(
                [
                    task,
                    s,
                    info["trials"],
                    "/".join(str(st.get(k, 0)) for k in ("completed", "pruned", "duplicate")),
                    sum(v for k, v in st.items() if k in ("diverged", "failed")),
                    "n/a" if info.get("best_value") is None else f"{100 * info['best_value']:.1f}",
                    shorten(info.get("best_expression", "-"), 60),
                    f"{info['wall_s']:.0f}",
                ]
            )
    parts.append(
        table(
            [
                "task",
                "space",
                "trials",
                "done/pruned/dup",
                "div/fail",
                "best val % (search seed)",
                "best activation",
                "wall s",
            ],
            rows,
        )
    )
    rows = []
    for task, d in data["tasks"].items():
        ev = d["evaluation"]
        base = ev["runs"][ev["baseline"]]
        rows.append(
            [
                task,
                f"baseline {ev['baseline']}",
                pm(base["values"]),
                pm(base["test_accuracy"]),
                "",
                "",
                "",
                "",
            ]
        )
        for s, v in ev["spaces"].items():
            r = ev["runs"][f"search:{s}"]
            div = f" ({r['diverged']} diverged)" if r["diverged"] else ""
            rows.append(
                [
                    task,
                    s,
                    pm(r["values"]) + div,
                    pm(r["test_accuracy"]),
                    f"{100 * v['metric']['delta']:+.1f}",
                    f"{v['metric']['t']:.2f}",
                    fmt_p(v["metric"]["p"]),
                    v["metric"]["verdict"],
                ]
            )
    parts.append(
        table(
            [
                "task",
                "activation",
                "val acc %",
                "test acc %",
                "Δ val (pts)",
                "Welch t",
                "p",
                "verdict",
            ],
            rows,
        )
    )
    seeds = data["tasks"][next(iter(data["tasks"]))]["evaluation"]["seeds"]
    epochs = ", ".join(
        f"{t}: search {d['search_epochs']}, re-training {d['eval_epochs']} epochs"
        for t, d in data["tasks"].items()
    )
    parts.append(f"Re-trained on seeds {seeds} ({epochs}); verdict on the task metric at p < 0.05.")
    return "\n\n".join(parts)


def main() -> None:
    parser = arguments(
        __doc__,
        quick="2 tasks, 12 trials a space",
        full="3 tasks, 100 trials a space",
        json="output file (default benchmarks/results/)",
    )
    parser.add_argument("--budget", type=int, help="trials per space (12 quick, 100 full)")
    parser.add_argument("--tasks", nargs="+", help="subset of the mode's tasks")
    parser.add_argument("--spaces", nargs="+", choices=list(SPACE_FILES), default=list(SPACE_FILES))
    parser.add_argument("--seeds", type=int, default=5, help="fresh seeds for the re-training")
    add_launch_options(parser, max_concurrent=True)
    parser.add_argument("--gpus-per-trial", type=float, default=0.0)
    add_training_options(parser)
    parser.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="recompute the verdicts from the per-seed values of a result file, print the tables",
    )
    args = parser.parse_args()
    if args.report:
        data = json.loads(args.report.read_text())
        for d in data["tasks"].values():
            ev = d["evaluation"]
            for s, v in ev["spaces"].items():
                r, base = ev["runs"][f"search:{s}"], ev["runs"][ev["baseline"]]
                vals = r["values"] + [0.0] * r["diverged"] if ev["mode"] == "max" else r["values"]
                v.update(verdicts(vals, r["test_accuracy"], base, ev["mode"]))
        write_json(args.report, data)
        print(report(data))
        return
    set_threads(args.threads)
    full = bool(args.full)
    plan = FULL_TASKS if full else QUICK_TASKS
    if args.tasks:
        plan = {t: plan[t] for t in args.tasks}
    budget = args.budget or (100 if full else 12)
    clock = Stopwatch()
    data: dict[str, Any] = {
        **run_info("bench_search", full),
        "budget": budget,
        "search_seed": SEARCH_SEED,
        "spaces": {
            s: {"file": SPACE_FILES[s], "families": space_raw(s)["families"]} for s in args.spaces
        },
        "tasks": {},
    }
    with workdir(args.workdir) as wd:
        url = f"sqlite:///{wd / 'bench_search.db'}"
        for task, (epochs, grace) in plan.items():
            # The re-training uses the task's default settings, as bench_baselines does; the
            # search itself may train for fewer epochs (--quick), a cheaper proxy.
            settings = type(get_task(task)).default_settings
            search_epochs = epochs or settings.epochs
            searches: dict[str, dict] = {}
            for s in args.spaces:
                space = make_space(s, task, epochs, grace, budget)
                log(f"[{task}] searching {s}: {budget} trials, {search_epochs} epochs")
                searches[s] = search(space, f"{task}-{s}", url, wd / "runs", args)
                log(f"  best {searches[s].get('best_value')}: {searches[s].get('best_expression')}")
            log(f"[{task}] re-training at {settings.epochs} epochs")
            ev = evaluate(task, settings, searches, args, full)
            for info in searches.values():
                info.pop("_candidate", None)
            data["tasks"][task] = {
                "search_epochs": search_epochs,
                "grace_period": grace,
                "eval_epochs": settings.epochs,
                "settings": {
                    "lr": settings.lr,
                    "batch_size": settings.batch_size,
                    "weight_decay": settings.weight_decay,
                    "optimizer": settings.optimizer,
                },
                "searches": searches,
                "evaluation": ev,
            }
    data["seconds"] = clock.seconds
    path = save(data, "bench_search", args.json, full)
    print(report(data))
    print(f"\n{data['seconds']:.0f} s; written to {path}")


if __name__ == "__main__":
    main()
