"""Distilling learned activations: a trained PAU or SLAF unit as a short formula, and whether it
trains as well.

    python benchmarks/bench_distill.py              # teachers sin and tanh: ~2 min on 2 cores
    python benchmarks/bench_distill.py --overhead   # + what recording input ranges costs
    python benchmarks/bench_distill.py --retrain    # + mnist1d-mlp and pinn-poisson, the best
                                                    # formula against the learned unit on 10
                                                    # fresh seeds: ~10 min on 2 cores

Distillation (always run). On ``teacher-student`` with teacher ``sin`` and then ``tanh`` (the
task's defaults: 40 epochs, one hidden layer, seed 0), a rational unit (PAU, ``{family:
rational}``: m=5, n=4, coefficients trained) is trained twice, started from the paper's fit to
leaky ReLU and from a fit to tanh, with the input recorder that trials use
(``afsearch.trial.inputs``). Its learned function is sampled
over the inputs its site saw in the last epoch, weighted by their density
(``afsearch.distill.sample_site``), and distilled (``afsearch.distill.distill``, max 8 nodes).
Reported per teacher: the unit's validation MSE, the front, the seconds the distillation took,
and the best formula's R², weighted as the distiller weighs points and plain over the seen range
(the 0.1% to 99.9% quantiles). Target: R² >= 0.999 within 60 s.

``--overhead``: mnist1d-mlp epochs (rational and ReLU, one torch thread) with and without the
recorder, interleaved, the process's CPU time per epoch including the quantiles' computation
(wall time on a shared machine moved by more than the effect); the median of epochs 2 to 8 of
five runs each.

``--retrain``: on ``mnist1d-mlp`` (a PAU) and ``pinn-poisson`` (a smooth SLAF: Gaussian RBF
basis, 6 centres, started from tanh; a PINN refuses a PAU's kink), the unit is trained once (seed
0, the task's defaults) and distilled (for the PINN, only the operators it accepts); the most
accurate formula of at most 8 nodes, with its scalars fixed, and the unit itself (retrained from
its initial values, as a search trains it) then train on ``--seeds`` fresh seeds each. Target:
within 1 point of accuracy of the unit (mnist1d-mlp), within 1.25x its error (the PINN, geometric
means). Verdicts are the confirm stage's (``afsearch.confirm.judge``: Welch, on the logs for an
error). Writes ``benchmarks/results/bench_distill.json`` and ``docs/distill.png``.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import numpy as np
from _common import DOCS, arguments, log, run_info, save, set_threads, table

from afsearch.activations import build_activation
from afsearch.confirm import choose_scale, fresh_seeds, judge
from afsearch.distill import Formula, accepted_ops, distill, sample_site
from afsearch.results import compare
from afsearch.tasks import ActivationFactory, get_task
from afsearch.trial.inputs import InputRecorder

PAU = {"family": "rational"}
#: The PAUs distilled on teacher-student: the paper's start (a fit to leaky ReLU) and a smooth one.
PAUS = {"leaky_relu": PAU, "tanh": {"family": "rational", "init": "tanh"}}
SMOOTH_SLAF = {"family": "slaf", "basis": "rbf", "degree": 6, "init": "tanh"}
TEACHERS = ("sin", "tanh")


def train_unit(task: Any, activation: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """Train ``activation`` once, as a trial does (its first site's inputs recorded); the
    learned candidate, the last epoch's metrics and the site's input quantiles."""
    factory = ActivationFactory(build_activation(activation), derivatives=task.derivatives)
    recorder = InputRecorder()
    last, taken = None, {}
    for result in task.fit(recorder.watch(factory.maker()), seed=seed):
        last, taken = result, recorder.take() or taken
    assert last is not None and taken, "the training ran no epoch"
    return {
        "candidate": factory.runs[0][0].to_candidate(),
        "metrics": last.metrics,
        "levels": taken["input_levels"],
        "quantiles": taken["input_quantiles"][0],
    }


def distill_unit(unit: dict[str, Any], ops: list[str] | None = None) -> dict[str, Any]:
    x, y, w, seen, _ = sample_site(unit["candidate"], (unit["levels"], unit["quantiles"]))
    start = time.perf_counter()
    front = distill(x, y, w, max_nodes=8, top=6, ops=ops)
    seconds = time.perf_counter() - start
    best = max(front, key=lambda f: f.r2)
    inside = (x >= seen[0]) & (x <= seen[1])
    plain = 1.0 - float(np.sum((best.values(x[inside]) - y[inside]) ** 2)) / float(
        np.sum((y[inside] - y[inside].mean()) ** 2)
    )
    return {
        "seconds": seconds,
        "seen": seen,
        "best": best,
        "plain_r2": plain,
        "front": front,
        "curve": (x, y, w),
    }


def teachers() -> list[dict[str, Any]]:
    out = []
    for teacher in TEACHERS:
        kind = type(get_task("teacher-student"))
        task = get_task(
            "teacher-student", kind.make_settings(options={"teacher_activation": teacher})
        )
        for start_from, activation in PAUS.items():
            log(f"teacher {teacher}: a PAU from {start_from} ({task.settings.epochs} epochs)")
            started = time.perf_counter()
            unit = train_unit(task, activation)
            trained = time.perf_counter() - started
            found = distill_unit(unit)
            best: Formula = found["best"]
            log(f"  distilled in {found['seconds']:.1f}s: {best.text}  R² {best.r2:.6f}")
            out.append(
                {
                    "teacher": teacher,
                    "pau_start": start_from,
                    "val_loss": unit["metrics"]["val_loss"],
                    "train_seconds": trained,
                    **{k: v for k, v in found.items() if k not in ("best", "front", "curve")},
                    "best": best.to_dict(),
                    "front": [f.to_dict() for f in found["front"]],
                    "_found": found,
                }
            )
    return out


def overhead(repeats: int = 5, epochs: int = 8) -> list[dict[str, Any]]:
    """CPU seconds per mnist1d-mlp epoch with and without the recorder (interleaved runs, one
    torch thread): the process's CPU time, which other work on a shared machine barely moves,
    where wall time moved by more than the effect."""
    task = get_task("mnist1d-mlp")
    rows = []
    for activation in (PAU, {"family": "standard", "name": "relu"}):
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(repeats):
            for record in (False, True):
                factory = ActivationFactory(build_activation(activation))
                recorder = InputRecorder()
                maker = recorder.watch(factory.maker()) if record else factory.maker()
                start = time.process_time()
                for result in task.fit(maker, seed=0):
                    if record:
                        recorder.take()
                    now = time.process_time()
                    if result.epoch > 1:
                        times[record].append(now - start)
                    start = now
                    if result.epoch >= epochs:
                        break
        without, with_ = statistics.median(times[False]), statistics.median(times[True])
        rows.append(
            {
                "activation": activation.get("name", activation["family"]),
                "epoch_cpu_s": without,
                "epoch_cpu_s_recorded": with_,
                "overhead_pct": 100 * (with_ / without - 1),
                "epochs_timed": len(times[False]),
            }
        )
        log(f"  {rows[-1]}")
    return rows


def retrain(task_name: str, activation: dict[str, Any], seeds: int) -> dict[str, Any]:
    task = get_task(task_name)
    log(f"{task_name}: training {activation['family']} once ({task.settings.epochs} epochs)")
    unit = train_unit(task, activation)
    ops = accepted_ops(task)
    found = distill_unit(unit, ops)
    best: Formula = found["best"]
    log(f"  distilled in {found['seconds']:.1f}s: {best.text}  R² {best.r2:.6f}")
    seed_list = fresh_seeds(seeds)

    def progress(name: str, seed: int, run: Any) -> None:
        log(f"  {name} seed {seed}: {run.metric} ({run.seconds:.1f}s)")

    results = compare(
        [("formula", best.candidate()), ("learned", build_activation(activation))],
        task_name,
        seeds=seed_list,
        progress=progress,
    )
    values = {r.name: r.values for r in results}
    scale = choose_scale(task.mode, values["formula"] + values["learned"])
    verdict, learned = judge(
        [("formula", None, values["formula"])],
        [("learned", values["learned"])],
        task.mode,
        scale=scale,
    )
    if scale == "log":
        ratio = verdict["delta"]
        within = ratio <= 1.25
        gap = f"{ratio:.3g}x the unit's error"
    else:
        points = 100 * verdict["delta"]
        within = points >= -1.0
        gap = f"{points:+.2f} points"
    return {
        "task": task_name,
        "activation": activation,
        "metric": task.metric,
        "mode": task.mode,
        "formula": best.to_dict(),
        "distill_seconds": found["seconds"],
        "seeds": seed_list,
        "values": values,
        "diverged": {name: len(seed_list) - len(v) for name, v in values.items()},
        # Arithmetic means and std, or geometric means and std factors for an error.
        "means": {"formula": verdict["mean"], "learned": learned["mean"]},
        "stds": {"formula": verdict["std"], "learned": learned["std"]},
        "verdict": verdict,
        "scale": scale,
        "gap": gap,
        "within_target": within,
    }


def plot(found: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.8), squeeze=False)
    for ax, row in zip(axes.ravel(), found):
        x, y, w = row["_found"]["curve"]
        twin = ax.twinx()
        twin.fill_between(x, w, color="tab:green", alpha=0.15, linewidth=0)
        twin.set_yticks([])
        twin.set_ylim(0, 3 * float(np.max(w)))
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.plot(x, y, color="black", linewidth=2.6, label="learned PAU")
        for f in sorted(row["_found"]["front"], key=lambda f: -f.r2)[:3]:
            ax.plot(x, f.values(x), "--", label=f"{f.text[:44]} (R² {f.r2:.5f})")
        ax.set_title(
            f"teacher {row['teacher']}, PAU from {row['pau_start']}: distilled in "
            f"{row['seconds']:.1f}s",
            fontsize=10,
        )
        ax.set_xlabel("x (shaded: density of the inputs the unit saw)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(DOCS / "distill.png", dpi=110)
    plt.close(fig)


def retrain_table(results: list[dict[str, Any]]) -> str:
    """The retraining's table: accuracy in percent, or an error's geometric mean x/ its
    geometric std factor; diverged runs are counted and left out."""
    rows = []
    for r in results:
        log_scale = r["scale"] == "log"

        def cell(name: str, r: dict[str, Any] = r, log_scale: bool = log_scale) -> str:
            mean, std = r["means"][name], r["stds"][name]
            text = (
                f"{mean:.4f} x/ {std:.2f}" if log_scale else f"{100 * mean:.1f} ± {100 * std:.1f}"
            )
            diverged = r["diverged"][name]
            return f"{text} ({diverged} diverged)" if diverged else text

        p = r["verdict"]["p_value"]
        rows.append(
            [
                r["task"],
                r["formula"]["formula"],
                r["formula"]["nodes"],
                f"{r['formula']['r2']:.6f}",
                cell("formula"),
                cell("learned"),
                r["gap"],
                "n/a" if p is None or math.isnan(p) else f"{p:.3f}",
                "yes" if r["within_target"] else "no",
            ]
        )
    return table(
        ["task", "formula", "nodes", "R²", "formula", "learned unit", "gap", "Welch p", "target"],
        rows,
        "llrrrrrrl",
    )


def report_teachers(found: list[dict[str, Any]]) -> None:
    print(
        table(
            ["teacher", "PAU from", "val MSE", "formula", "nodes", "R² (w)", "R² (plain)", "s"],
            [
                [
                    r["teacher"],
                    r["pau_start"],
                    f"{r['val_loss']:.4f}",
                    r["best"]["formula"],
                    r["best"]["nodes"],
                    f"{r['best']['r2']:.6f}",
                    f"{r['plain_r2']:.6f}",
                    f"{r['seconds']:.1f}",
                ]
                for r in found
            ],
            "lllllrrr",
        )
    )
    for r in found:
        seen = f"seen {r['seen'][0]:.2f} to {r['seen'][1]:.2f}"
        print(f"\nfront, teacher {r['teacher']}, PAU from {r['pau_start']} ({seen}):")
        for f in r["front"]:
            print(f"  {f['nodes']} nodes  R² {f['r2']:.6f}  {f['formula']}")


def main() -> None:
    parser = arguments(__doc__, json="result file (default benchmarks/results/bench_distill.json)")
    parser.add_argument("--overhead", action="store_true", help="time the input recorder")
    parser.add_argument("--retrain", action="store_true", help="retrain on mnist1d and a PINN")
    parser.add_argument("--seeds", type=int, default=10, help="fresh seeds of --retrain")
    parser.add_argument(
        "--no-teachers", action="store_true", help="skip the teacher-student distillations"
    )
    args = parser.parse_args()
    set_threads(1)
    info = run_info("bench_distill", False)
    flags = [
        f
        for f, on in (
            ("--no-teachers", args.no_teachers),
            ("--overhead", args.overhead),
            ("--retrain", args.retrain),
        )
        if on
    ]
    if args.retrain:
        flags.append(f"--seeds {args.seeds}")
    info["command"] = " ".join(["python benchmarks/bench_distill.py", *flags])
    data: dict[str, Any] = dict(info)
    if not args.no_teachers:
        found = teachers()
        plot(found)
        report_teachers(found)
        data["teachers"] = [{k: v for k, v in r.items() if k != "_found"} for r in found]
    if args.overhead:
        data["overhead"] = overhead()
        print()
        print(
            table(
                ["activation", "epoch CPU s", "epoch CPU s, recorded", "overhead %"],
                [
                    [
                        r["activation"],
                        f"{r['epoch_cpu_s']:.4f}",
                        f"{r['epoch_cpu_s_recorded']:.4f}",
                        f"{r['overhead_pct']:+.1f}",
                    ]
                    for r in data["overhead"]
                ],
                "lrrr",
            )
        )
    if args.retrain:
        data["retrain"] = [
            retrain("mnist1d-mlp", PAU, args.seeds),
            retrain("pinn-poisson", SMOOTH_SLAF, args.seeds),
        ]
        print()
        print(retrain_table(data["retrain"]))
    log(f"wrote {save(data, 'bench_distill', args.json)}")


if __name__ == "__main__":
    main()
