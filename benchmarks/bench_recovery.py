"""Does a search recover a hidden activation of any kind? A sweep of teachers on teacher-student.

    python benchmarks/bench_recovery.py                 # 9 teachers, 40 trials each, 3 seeds
    python benchmarks/bench_recovery.py --floor 0       # the same without evolution's floor
    python benchmarks/bench_recovery.py --teachers tanh+sin --budget 20

The task ``teacher-student`` regresses a random teacher MLP whose activation is the teacher. The
teachers cover the kinds of function a space holds: standard activations, parametric families at
values other than their defaults, and operator trees of depth 1 and 2. Each was chosen among
candidates (``TEACHERS``) for being distinguishable from ReLU: trained as its own student it
reaches a validation MSE at least twice as low as a ReLU student's (3 seeds, the task's
defaults). A ReLU or Swish-like teacher is not: a ReLU student fits it as well, so no search can
show that it found it.

``--screen`` measures that choice again for the teachers and the candidates left out
(``SCREENED_OUT``).

For each teacher one study searches a space of every kind (SLAF, parametric families, PAU,
operator trees of depth 1 and 2; no ``standard`` family, so a standard teacher is not offered
by name) with the shipped search: ``sampler: evolution`` with its default options and the
prescreen with its defaults, 40 trials, no early stopping (a trial takes about a second), search
seed 1. ``--floor`` overrides evolution's ``floor`` (the share of the population each kind of
function keeps) to compare with and without it.

A teacher is **recovered** when the search's best trial (lowest ``val_loss``)

- matches the teacher on [-3, 3] with R² >= 0.999 after the best affine map of input and output,
  ``a*f(c*x + d) + b`` (the layers around an activation absorb both), its learned values in, and
- re-trained from its initial values on fresh seeds reaches a validation MSE at least twice as
  low as ReLU's on the same seeds.

Writes ``benchmarks/results/bench_recovery.json`` (``--json``) and ``docs/recovery.png``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    DOCS,
    Stopwatch,
    add_launch_options,
    add_training_options,
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

from afsearch.activations import build, kind_of
from afsearch.exceptions import shorten
from afsearch.orchestrator import launch
from afsearch.results import compare, fresh_seeds, trial_candidate
from afsearch.search import check_space
from afsearch.space import parse_space, task_settings
from afsearch.store import trials

TASK = "teacher-student"
SEARCH_SEED = 1
X = np.linspace(-3.0, 3.0, 601)
R2_RECOVERED = 0.999
LOSS_RATIO_RECOVERED = 2.0


def tree(binary: str, left: Any, right: Any) -> dict[str, Any]:
    return {"family": "grammar", "unit": {"binary": binary, "left": left, "right": right}}


def of(unary: str, binary: str, left: Any, right: Any) -> dict[str, Any]:
    """An operand ``unary(binary(left(x), right(x)))``: a unit nested one level deeper."""
    return {"unary": unary, "of": {"binary": binary, "left": left, "right": right}}


#: name -> (kind, formula, teacher config): the sweep's teachers, ReLU-distinguishable (see above).
TEACHERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "tanh": ("standard", "tanh(x)", {"family": "standard", "name": "tanh"}),
    "sin": ("standard", "sin(x)", {"family": "standard", "name": "sin"}),
    "swish-0.25": ("parametric", "x*sigmoid(x/4)", {"family": "swish", "beta": 0.25}),
    "xielu": ("parametric", "xIELU, default values", {"family": "xielu"}),
    "tanh+sin": ("depth 1", "tanh(x) + sin(x)", tree("add", "tanh", "sin")),
    "x*gauss": ("depth 1", "x*exp(-x²)", tree("mul", "x", "gauss")),
    "sin*sigmoid": ("depth 1", "sin(x)*sigmoid(x)", tree("mul", "sin", "sigmoid")),
    "tanh+x*gauss": (
        "depth 2",
        "tanh(x) + x*exp(-x²)",
        tree("add", "tanh", of("x", "mul", "x", "gauss")),
    ),
    "sin+tanh*gauss": (
        "depth 2",
        "sin(x) + tanh(x)*exp(-x²)",
        tree("add", "sin", of("x", "mul", "tanh", "gauss")),
    ),
}
#: Candidates screened out: trained as their own students, no better than ReLU (``--screen``).
SCREENED_OUT: dict[str, dict[str, Any]] = {
    "relu": {"family": "standard", "name": "relu"},
    "x*sigmoid(3x)": {"family": "swish", "beta": 3.0},
    "x*sigmoid(x/2)": {"family": "swish", "beta": 0.5},
    "ELU alpha 2": {"family": "elu", "alpha": 2.0},
    "GELU beta 0.4": {"family": "gelu", "beta": 0.4},
    "Mish beta 0.3": {"family": "mish", "beta": 0.3},
    "softplus beta 0.5": {"family": "softplus", "beta": 0.5},
    "softplus beta 0.25": {"family": "softplus", "beta": 0.25},
    "ULU 0.2, 3": {"family": "ulu", "alpha1": 0.2, "alpha2": 3.0},
    "PReLU a -0.5": {"family": "prelu", "a": -0.5},
    "max(x, sin x)": tree("max", "x", "sin"),
    "x + erf(x tanh x)": tree("add", "x", of("erf", "mul", "x", "tanh")),
    "x*sigmoid(2 sin x)": tree("mul", "x", of("sigmoid", "add", "sin", "sin")),
    "x + exp(-(x - tanh x)²)": tree("add", "x", of("gauss", "sub", "x", "tanh")),
    "sigmoid(x)*(x + sin x)": tree("sigmoid_mul", "x", of("x", "add", "x", "sin")),
}
#: Seeds of the screen (apart from the search's and the re-training's).
SCREEN_SEEDS = (100, 101, 102)

UNARY = ["x", "neg", "abs", "square", "exp", "sin", "cos", "tanh", "atan", "relu", "min0"]
FAMILIES: list[dict[str, Any]] = [
    {
        "family": "slaf",
        "basis": ["chebyshev", "legendre", "power", "fourier"],
        "degree": {"low": 2, "high": 8},
        "init": ["relu", "gelu", "tanh"],
    },
    {"family": "swish", "beta": {"low": 0.25, "high": 4.0, "log": True}},
    {"family": "elu", "alpha": {"low": 0.1, "high": 3.0}},
    {"family": "gelu", "beta": {"low": 0.25, "high": 4.0, "log": True}},
    {"family": "softplus", "beta": {"low": 0.1, "high": 4.0, "log": True}},
    {"family": "rational", "init": ["leaky_relu", "gelu", "tanh"]},
    {
        "family": "grammar",
        "depth": [1, 2],
        "unary": [*UNARY, "sigmoid", "softplus", "gauss", "erf"],
        "binary": ["add", "mul", "sub", "max", "min", "sigmoid_mul"],
    },
]


def make_space(label: str, teacher: dict[str, Any], budget: int, floor: float | None) -> Any:
    options: dict[str, Any] = {} if floor is None else {"floor": floor}
    raw = {
        "name": "recover-" + re.sub(r"[^A-Za-z0-9._-]", "_", label),
        "task": {"name": TASK, "options": {"teacher_activation": teacher}},
        "sampler": "evolution",
        "sampler_options": options,
        "prescreen": {},
        "scheduler": "none",
        "seeds": 1,
        "num_samples": budget,
        "max_concurrent": 2,
        "families": FAMILIES,
    }
    space = parse_space(raw, source=f"bench_recovery:{label}")
    check_space(space)
    return space


def inout_match(fn: Any, target: np.ndarray) -> dict[str, Any]:
    """R² of ``a*fn(c*x + d) + b`` against the teacher on [-3, 3], with the map."""
    with np.errstate(all="ignore"):
        finite = bool(np.all(np.isfinite(fn(X))))
    if not finite:
        return {"r2_inout": math.nan, "inout": None}
    r2, coef = affine_r2_inout(fn, X, target)
    return {"r2_inout": r2, "inout": coef}


def run_teacher(label: str, plan: dict[str, Any], wd: Path, args: Any) -> dict[str, Any]:
    kind, formula, teacher = TEACHERS[label]
    target = numpy_fn(build(teacher))(X)
    space = make_space(label, teacher, plan["budget"], plan["floor"])
    settings = task_settings(space, {})
    url = f"sqlite:///{wd / 'bench_recovery.db'}"
    study = space.name
    log(f"[{label}] searching: {plan['budget']} trials, {settings.epochs} epochs")
    clock = Stopwatch()
    launch(
        space, study=study, url=url, runs_dir=wd / "runs", seed=SEARCH_SEED, **launch_kwargs(args)
    )
    wall = clock.seconds
    rows = trials(study, url)
    finished = sorted(
        (t for t in rows if t.status.value in ("completed", "duplicate") and t.metric_value),
        key=lambda t: (t.metric_value, t.number),
    )
    kinds: dict[str, int] = {}
    for t in rows:
        config = (t.config or {}).get("activation") or {}
        kinds[kind_of(config)] = kinds.get(kind_of(config), 0) + 1
    best = finished[0]
    winner = trial_candidate(best)
    match = inout_match(numpy_fn(winner), target)
    # The first trial, in search order, whose learned function matches the teacher.
    first_match = None
    for t in sorted(finished, key=lambda t: t.number):
        if inout_match(numpy_fn(trial_candidate(t)), target)["r2_inout"] >= R2_RECOVERED:
            first_match = t.number
            break
    seeds = fresh_seeds(plan["seeds"])
    named = [
        ("winner", trial_candidate(best, learned=False)),
        ("relu", {"family": "standard", "name": "relu"}),
    ]
    comps = compare(named, TASK, seeds=seeds, settings=settings, device=args.device)
    by_name = {c.name: c for c in comps}
    mse = {name: {"values": c.values, "mean": c.mean} for name, c in by_name.items()}
    ratio = by_name["relu"].mean / by_name["winner"].mean
    recovered = bool(match["r2_inout"] >= R2_RECOVERED and ratio >= LOSS_RATIO_RECOVERED)
    log(
        f"  winner {shorten(winner.text, 60)} ({winner.family}) R² {match['r2_inout']:.4f}, "
        f"ReLU/winner MSE {ratio:.1f}: {'recovered' if recovered else 'not recovered'}"
    )
    fn = numpy_fn(winner)
    io = match["inout"]
    return {
        "label": label,
        "kind": kind,
        "formula": formula,
        "teacher": teacher,
        "study": study,
        "wall_s": wall,
        "trials_by_kind": kinds,
        "winner": {
            "number": best.number,
            "family": winner.family,
            "expression": winner.text,
            "val_loss": best.metric_value,
            "learned_params": best.learned_params,
            **match,
        },
        "first_match": first_match,
        "retrain_val_mse": mse,
        "retrain_seeds": seeds,
        "relu_over_winner": ratio,
        "recovered": recovered,
        "curves": {
            "teacher": target.tolist(),
            "winner_affine_in_out": (
                (io["a"] * fn(io["c"] * X + io["d"]) + io["b"]).tolist() if io else None
            ),
        },
    }


def screen(configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each teacher as its own student (its values fixed) and a ReLU student: validation MSE,
    mean of :data:`SCREEN_SEEDS`, and ReLU's over the teacher's."""
    from torch import nn

    from afsearch.compiler import CompiledActivation
    from afsearch.tasks import TeacherStudent

    out = {}
    for label, config in configs.items():
        task = TeacherStudent(TeacherStudent.make_settings(options={"teacher_activation": config}))

        def own(config: dict[str, Any] = config) -> nn.Module:
            return CompiledActivation(build(config)).requires_grad_(False)

        got = {}
        for name, make in (("own", own), ("relu", nn.ReLU)):
            losses = [list(task.fit(make, seed=s))[-1].metrics["val_loss"] for s in SCREEN_SEEDS]
            got[name] = float(np.mean(losses))
        got["relu_over_own"] = got["relu"] / got["own"]
        ratio = got["relu_over_own"]
        log(f"  {label}: own {got['own']:.4f}, ReLU {got['relu']:.4f}, ReLU/own {ratio:.1f}")
        out[label] = got
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.2 * rows), dpi=110, squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, r in zip(axes.flat, results.values(), strict=False):
        c = r["curves"]
        ax.plot(X, c["teacher"], "k-", lw=2.5, label="teacher")
        if c["winner_affine_in_out"] is not None:
            ax.plot(X, c["winner_affine_in_out"], "C1--", lw=1.5, label="winner, a·f(c·x+d)+b")
        verdict = "recovered" if r["recovered"] else "not recovered"
        w = r["winner"]
        ax.set_title(
            f"{r['formula']} ({r['kind']}): {verdict}\n{shorten(w['expression'], 44)}\n"
            f"R² {w['r2_inout']:.4f}, ReLU/winner MSE {r['relu_over_winner']:.1f}",
            fontsize=7,
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def report(data: dict[str, Any]) -> str:
    rows = []
    for r in data["teachers"].values():
        w, mse = r["winner"], r["retrain_val_mse"]
        rows.append(
            [
                r["formula"],
                r["kind"],
                f"{shorten(w['expression'], 48)} ({w['family']})",
                f"{w['r2_inout']:.4f}",
                pm(mse["winner"]["values"], pct=False, digits=4),
                pm(mse["relu"]["values"], pct=False, digits=4),
                f"{r['relu_over_winner']:.1f}",
                "-" if r["first_match"] is None else r["first_match"],
                "yes" if r["recovered"] else "no",
            ]
        )
    headers = [
        "teacher",
        "kind",
        "winner (learned values)",
        "R² in+out",
        "winner val MSE",
        "ReLU val MSE",
        "ReLU/winner",
        "first match",
        "recovered",
    ]
    got = sum(r["recovered"] for r in data["teachers"].values())
    floor = data["plan"]["floor"]
    return (
        table(headers, rows)
        + f"\n\n{got} of {len(data['teachers'])} recovered; evolution floor "
        + ("default" if floor is None else f"{floor}")
        + "; 'first match': the first trial whose learned function has R² >= 0.999."
    )


def main() -> None:
    parser = arguments(__doc__, json="output file (default benchmarks/results/)")
    parser.add_argument("--teachers", nargs="+", choices=list(TEACHERS))
    parser.add_argument("--budget", type=int, default=40, help="trials per teacher")
    parser.add_argument("--seeds", type=int, default=3, help="fresh seeds of the re-training")
    parser.add_argument("--floor", type=float, help="evolution's floor (default: shipped)")
    add_launch_options(parser)
    add_training_options(parser)
    parser.add_argument("--plot", type=Path, default=DOCS / "recovery.png")
    parser.add_argument(
        "--screen", action="store_true", help="only screen the teachers and the screened-out ones"
    )
    args = parser.parse_args()
    set_threads(args.threads)
    if args.screen:
        kept = {label: config for label, (_, _, config) in TEACHERS.items()}
        got = screen({**kept, **SCREENED_OUT})
        info = run_info("bench_recovery_screen", False)
        path = save({**info, "screen": got}, "bench_recovery_screen", args.json)
        print(f"written to {path}")
        return
    plan = {
        "teachers": args.teachers or list(TEACHERS),
        "budget": args.budget,
        "seeds": args.seeds,
        "floor": args.floor,
    }
    clock = Stopwatch()
    data: dict[str, Any] = {
        **run_info("bench_recovery", False),
        "plan": plan,
        "interval": [-3.0, 3.0],
        "families": FAMILIES,
        "teachers": {},
    }
    with workdir(args.workdir) as wd:
        for label in plan["teachers"]:
            data["teachers"][label] = run_teacher(label, plan, wd, args)
    data["seconds"] = clock.seconds
    plot(data["teachers"], args.plot)
    path = save(data, "bench_recovery", args.json)
    print(report(data))
    print(f"\n{data['seconds']:.0f} s; written to {path} and {args.plot}")


if __name__ == "__main__":
    main()
