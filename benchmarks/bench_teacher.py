"""Can a search recover a hidden activation? Teacher-student regression with a known teacher.

    python benchmarks/bench_teacher.py --quick   # teachers sin and tanh, 40 trials each, 3
                                                 # fresh seeds: ~2 min on 2 CPU cores
    python benchmarks/bench_teacher.py --full    # teachers sin, tanh, relu, 100 trials each, 5
                                                 # fresh seeds: ~15 min on 2 CPU cores

The task ``teacher-student`` regresses a random one-hidden-layer teacher MLP whose activation is
``teacher_activation`` (its engineer found ``sin``, ``tanh`` and ``relu`` recoverable; ``silu``,
``elu`` and ``softplus`` are not distinguishable from ``gelu`` on it). For each teacher a study
runs over a combined space (SLAF with and without the ReLU mix, Swish-beta, ELU-alpha,
GELU-beta, PAU, and operator-grammar units of depth 1; no ``standard`` family, so the teacher's
own activation is not offered by name), TPE, no early stopping (a trial takes about a second, and
every finished trial then says how its family fits), seed 1, the task's defaults (40 epochs).
A repeated candidate (same activation and settings) is replayed from the database as a
``duplicate``: it costs no training but counts against the budget, and TPE repeats itself often
here, since several families have nothing continuous to vary; the table says how many distinct
activations finished.

The winner (lowest ``val_loss``) is exported with its learned parameter values
(``trial_candidate(t)``), and its function is compared with the teacher's on [-3, 3] (601
points), where the teacher's pre-activations mostly lie:

- R² (affine out): after the best ``a*f(x) + b`` (least squares), since the next layer absorbs
  ``a`` and ``b``;
- R² (affine in+out): after the best ``a*f(c*x + d) + b``, since the previous layer absorbs
  ``c`` and ``d`` just as well. This is the fairer match: a learned activation is free to
  settle on any input scale (the quick run's winner for ``sin`` is close to a sine of
  frequency 1.76, not 1: R² 0.05 out, 0.999 in+out). It is also lenient with very flexible
  functions (a Fourier SLAF contains a sine of period 6), so read it with the validation MSE.

The same R² values are given for the six baselines (relu, gelu, silu, mish, elu, tanh), and the
winner (as searched, ``learned=False``) and the baselines are re-trained on fresh seeds
(3 quick, 5 full) to give their validation MSE. Plot: ``docs/teacher.png`` (teacher, winner,
winner after the affine map). Writes ``benchmarks/results/bench_teacher.json``
(``bench_teacher_full.json``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    BASELINES,
    DOCS,
    Stopwatch,
    add_launch_options,
    add_training_options,
    affine_r2,
    affine_r2_inout,
    arguments,
    launch_kwargs,
    log,
    numpy_fn,
    pm,
    run_info,
    save,
    set_threads,
    table,
    workdir,
)

from afsearch.activations import build
from afsearch.exceptions import shorten
from afsearch.orchestrator import launch
from afsearch.results import compare, fresh_seeds, trial_candidate
from afsearch.search import check_space
from afsearch.space import parse_space, task_settings
from afsearch.store import trials

TASK = "teacher-student"
SEARCH_SEED = 1
X = np.linspace(-3.0, 3.0, 601)
# The teacher activations of afsearch.tasks, in NumPy.
TEACHERS = {
    "sin": np.sin,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
}
FAMILIES: list[dict[str, Any]] = [
    {
        "family": "slaf",
        "basis": ["chebyshev", "legendre", "power", "fourier"],
        "degree": {"low": 2, "high": 8},
        "init": ["relu", "gelu", "tanh"],
        "relu_mix": [None, 1.0],
    },
    {
        "family": "swish",
        "beta": {"low": 0.25, "high": 4.0, "log": True},
        "trainable": [False, True],
    },
    {"family": "elu", "alpha": {"low": 0.1, "high": 3.0}},
    {"family": "gelu", "beta": {"low": 0.5, "high": 4.0, "log": True}},
    {"family": "rational", "init": ["leaky_relu", "gelu"]},
    {
        "family": "grammar",
        "depth": 1,
        "unary": ["x", "tanh", "sigmoid", "sin", "relu", "erf", "softplus", "square", "abs"],
        "binary": ["add", "mul", "max", "min", "sigmoid_mul"],
    },
]
QUICK = {"teachers": ["sin", "tanh"], "budget": 40, "seeds": 3}
FULL = {"teachers": ["sin", "tanh", "relu"], "budget": 100, "seeds": 5}


def make_space(teacher: str, budget: int) -> Any:
    raw = {
        "name": f"teacher-{teacher}",
        "task": {"name": TASK, "options": {"teacher_activation": teacher}},
        "sampler": "tpe",
        "scheduler": "none",
        "seeds": 1,
        "num_samples": budget,
        "max_concurrent": 2,
        "families": FAMILIES,
    }
    space = parse_space(raw, source=f"bench_teacher:{teacher}")
    check_space(space)
    return space


def match(fn: Any, target: np.ndarray) -> dict[str, Any]:
    with np.errstate(all="ignore"):
        f = fn(X)
    if not np.all(np.isfinite(f)):
        return {"r2": math.nan, "r2_inout": math.nan}
    r2, a, b = affine_r2(f, target)
    r2io, coef = affine_r2_inout(fn, X, target)
    return {"r2": r2, "a": a, "b": b, "r2_inout": r2io, "inout": coef}


def run_teacher(teacher: str, plan: dict[str, Any], wd: Path, args: Any) -> dict[str, Any]:
    target = TEACHERS[teacher](X)
    space = make_space(teacher, plan["budget"])
    settings = task_settings(space, {})
    url = f"sqlite:///{wd / 'bench_teacher.db'}"
    study = f"teacher-{teacher}"
    log(f"[{teacher}] searching: {plan['budget']} trials, {settings.epochs} epochs")
    clock = Stopwatch()
    launch(
        space, study=study, url=url, runs_dir=wd / "runs", seed=SEARCH_SEED, **launch_kwargs(args)
    )
    wall = clock.seconds
    rows = trials(study, url)
    counts: dict[str, int] = {}
    for t in rows:
        counts[t.status.value] = counts.get(t.status.value, 0) + 1
    # Finished trials, best first; a duplicate replays its original, so keep one per activation.
    finished = sorted(
        (t for t in rows if t.status.value in ("completed", "duplicate") and t.metric_value),
        key=lambda t: (t.metric_value, t.number),
    )
    done, seen = [], set()
    for t in finished:
        if t.activation_id not in seen:
            seen.add(t.activation_id)
            done.append(t)
    ranked = []
    for t in done:
        cand = trial_candidate(t)
        ranked.append(
            {
                "number": t.number,
                "val_loss": t.metric_value,
                "family": cand.family,
                "expression": cand.text,
                "values": cand.values,
                **match(numpy_fn(cand), target),
            }
        )
    top = ranked[:5]
    per_family: dict[str, Any] = {}
    for r in ranked:
        per_family.setdefault(r["family"], r)
    winner_trial = done[0]
    winner = trial_candidate(winner_trial)
    w = top[0]
    log(f"  winner {w['expression']} val_loss {w['val_loss']:.4f} R² {w['r2']:.3f}")

    baselines = {}
    for name in BASELINES:
        cand = build({"family": "standard", "name": name})
        baselines[name] = match(numpy_fn(cand), target)

    seeds = fresh_seeds(plan["seeds"])
    named: list[tuple[str, Any]] = [("winner", trial_candidate(winner_trial, learned=False))]
    named += [(n, {"family": "standard", "name": n}) for n in BASELINES]
    comps = compare(named, TASK, seeds=seeds, settings=settings, device=args.device)
    mse = {c.name: {"values": c.values, "mean": c.mean, "std": c.std} for c in comps}

    # The curves for the plot.
    fn = numpy_fn(winner)
    f = fn(X)
    io = w.get("inout")
    f_io = (io["a"] * fn(io["c"] * X + io["d"]) + io["b"]).tolist() if io else None
    return {
        "teacher": teacher,
        "study": study,
        "wall_s": wall,
        "status": counts,
        "winner": {
            **w,
            "learned_params": winner_trial.learned_params,
            "candidate": winner.to_dict(),
        },
        "distinct_finished": len(done),
        "trials": [
            {
                "number": t.number,
                "status": t.status.value,
                "family": t.activation.family if t.activation else None,
                "expression": t.activation.expression if t.activation else None,
                "val_loss": t.metric_value,
                "duplicate_of": t.duplicate_of,
            }
            for t in rows
        ],
        "finished": ranked,
        "top5": top,
        "best_per_family": per_family,
        "baselines_r2": baselines,
        "retrain_val_mse": mse,
        "retrain_seeds": seeds,
        "curves": {
            "x": X.tolist(),
            "teacher": target.tolist(),
            "winner": f.tolist(),
            "winner_affine_in_out": f_io,
        },
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.0), dpi=110, squeeze=False)
    for ax, (teacher, r) in zip(axes[0], results.items(), strict=True):
        c = r["curves"]
        x, g, f = np.array(c["x"]), np.array(c["teacher"]), np.array(c["winner"])
        w = r["winner"]
        ax.plot(x, g, "k-", lw=2.5, label=f"teacher: {teacher}")
        ax.plot(x, f, "C1--", lw=1.5, label="winner f (learned values)")
        if math.isfinite(w["r2"]):
            ax.plot(x, w["a"] * f + w["b"], "C0-", lw=1.5, label=f"a·f(x) + b, R²={w['r2']:.3f}")
        if c.get("winner_affine_in_out") is not None:
            label = f"a·f(c·x + d) + b, R²={w['r2_inout']:.3f}"
            ax.plot(x, c["winner_affine_in_out"], "C2:", lw=2, label=label)
        lo, hi = float(g.min()), float(g.max())
        pad = 0.6 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        expr = shorten(w["expression"], 60)
        ax.set_title(f"teacher {teacher}; winner ({w['family']}):\n{expr}", fontsize=8)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def report(data: dict[str, Any]) -> str:
    parts = []
    rows = []
    for teacher, r in data["teachers"].items():
        for fam, b in r["best_per_family"].items():
            mark = " *" if b["number"] == r["winner"]["number"] else ""
            rows.append(
                [
                    teacher,
                    fam + mark,
                    shorten(b["expression"], 70),
                    f"{b['val_loss']:.4f}",
                    f"{b['r2']:.3f}",
                    f"{b['r2_inout']:.3f}",
                ]
            )
    headers = ["teacher", "family", "best of family (learned values)", "search val MSE"]
    parts.append(table([*headers, "R² affine out", "R² affine in+out"], rows))
    notes = []
    for teacher, r in data["teachers"].items():
        st = r["status"]
        notes.append(
            f"{teacher}: {sum(st.values())} trials, "
            + ", ".join(f"{v} {k}" for k, v in sorted(st.items()))
            + f"; {r['distinct_finished']} distinct finished activations"
        )
    parts.append("* the winner. " + "; ".join(notes) + ".")
    rows = []
    for teacher, r in data["teachers"].items():
        mse = r["retrain_val_mse"]
        order = sorted(mse, key=lambda n: mse[n]["mean"])
        for name in ["winner", *BASELINES]:
            m = r["winner"] if name == "winner" else r["baselines_r2"][name]
            rows.append(
                [
                    teacher,
                    name,
                    f"{m['r2']:.3f}",
                    f"{m['r2_inout']:.3f}",
                    pm(mse[name]["values"], pct=False, digits=4),
                    order.index(name) + 1,
                ]
            )
    seeds = next(iter(data["teachers"].values()))["retrain_seeds"]
    parts.append(
        table(
            [
                "teacher",
                "activation",
                "R² affine out",
                "R² affine in+out",
                f"val MSE, seeds {seeds[0]}..{seeds[-1]}",
                "rank",
            ],
            rows,
        )
    )
    return "\n\n".join(parts)


def main() -> None:
    parser = arguments(
        __doc__,
        quick="teachers sin and tanh, 40 trials, 3 fresh seeds (default)",
        full="teachers sin, tanh and relu, 100 trials, 5 fresh seeds",
        json="output file (default benchmarks/results/)",
    )
    parser.add_argument("--teachers", nargs="+", choices=list(TEACHERS))
    parser.add_argument("--budget", type=int, help="trials per teacher")
    add_launch_options(parser)
    add_training_options(parser)
    parser.add_argument("--plot", type=Path, default=DOCS / "teacher.png")
    args = parser.parse_args()
    set_threads(args.threads)
    full = bool(args.full)
    plan = dict(FULL if full else QUICK)
    if args.teachers:
        plan["teachers"] = args.teachers
    if args.budget:
        plan["budget"] = args.budget
    clock = Stopwatch()
    data: dict[str, Any] = {
        **run_info("bench_teacher", full),
        "plan": plan,
        "interval": [-3.0, 3.0],
        "families": FAMILIES,
        "teachers": {},
    }
    with workdir(args.workdir) as wd:
        for teacher in plan["teachers"]:
            data["teachers"][teacher] = run_teacher(teacher, plan, wd, args)
    data["seconds"] = clock.seconds
    plot(data["teachers"], args.plot)
    path = save(data, "bench_teacher", args.json, full)
    print(report(data))
    print(f"\n{data['seconds']:.0f} s; written to {path} and {args.plot}")


if __name__ == "__main__":
    main()
