"""Does the search beat the best standard activation where it matters? Search, confirm, transfer.

Per task, one ``afsearch launch`` of a shipped space (``SPACE_FILES``): ``search_spaces/inr.yaml``
for inr-image, ``pinn.yaml`` for pinn-poisson and pinn-burgers, ``mnist1d.yaml`` for digits-mlp,
mnist1d-mlp and mnist1d-cnn, each with its task set to the task run (as ``afsearch launch FILE
--task TASK`` does). The benchmark changes only the trial count (``--trials``), the confirm
stage's ``top`` and ``seeds`` (``--top``, ``--seeds``) and the space's name; everything else
(families, sampler, prescreen, scheduler, ``confirm.against``, task options) is the file's.
After the search the K best distinct candidates and the baselines are trained again on S fresh
seeds (10000 upwards) as Ray tasks, and each candidate is compared with the best baseline
(Welch's t, Holm over the K, the difference of means with its 95% interval). The study's
confirmed best (``afsearch.store.study_best``) is the winner.

Baselines are what a researcher in the field would pick: the file's ``confirm.against`` (the six
standard activations relu, gelu, silu, mish, elu and tanh on the classification tasks, these
and ``sin`` on the PINNs, which refuse relu and elu as their second derivatives jump: the
confirm stage leaves them out, storing why in ``refused`` of its options). ``inr.yaml`` trains
SIREN's network (its initialisation, omega0 = 10), so its baselines (sin, which is SIREN there,
tanh, gelu and relu) run in that network; they are reported as ``NAME SIREN omega0=10``. Beside
them, the six standard activations in the task's plain MLP (its defaults) and SIREN at
omega0 = 5 and 30 are trained here, in this process, on the same fresh seeds with the task's
same training function (``afsearch.results.compare``), and the verdicts are recomputed with
``afsearch.confirm.judge`` over all baselines (the best of all is the bar).

Each file's comment describes its space. All three use ``sampler: evolution`` with
``prescreen`` (features ``outputs``): the spaces are mostly grammar trees, where evolution
mutates the best of a tournament (a tree gets a new operator, grows or loses a node) rather
than drawing afresh, and the prescreen ranks ``proposals`` children by a Gaussian process on
their outputs and slopes and passes over those that cannot train (docs/RESULTS.md §3b). The
population starts from the task's usual activations (``initial``) so the tournaments mutate good
ones first. The PINN space holds smooth families only; a candidate with kinks is refused by the
task and never trains.

Then a transfer matrix: each task's confirmed winner trained on every other task of the run
with that task's default settings on 3 fresh seeds (in this process; a PINN refuses a winner
that is not smooth enough, shown as such).

``--searches 2`` runs two independent searches per task (search seeds ``--search-seed`` and the
next) with the same protocol; a task then counts as won only if both confirmed winners beat the
best tuned baseline on the test split at Holm-corrected p < 0.05, Holm over every candidate
confirmed for the task (``replicate``), and each winner's worst seed and spread are reported.
The shipped spaces confirm with ``lr_grid: [0.3, 1.0, 3.0]``: every arm, candidates and
baselines alike, picks its learning-rate factor on the validation split over tuning seeds of
its own before it is judged on the test split (afsearch.confirm._protocol). The transfer matrix
runs with ``--transfer``; inr-image's untuned extra baselines with ``--extra-baselines``.

``--quick`` (2 shared cores): inr-image and pinn-poisson with 100 trials each, pinn-burgers
with as many trials as the time left allows (``--minutes``, 65 by default; none below 30),
top 5 confirmed on 10 seeds. ``--full`` (a Ray cluster, ``--address``): inr-image, pinn-poisson,
pinn-burgers, digits-mlp, mnist1d-mlp and mnist1d-cnn, 200 trials, top 5 on 10 seeds.

Writes ``benchmarks/results/bench_prove.json`` (``_full``) after every task, and with ``--plot``
``docs/prove_winners.png`` and ``docs/prove_transfer.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from _common import (
    BASELINES,
    DOCS,
    ROOT,
    Stopwatch,
    add_launch_options,
    arguments,
    fmt_p,
    launch_kwargs,
    log,
    numpy_fn,
    run_info,
    save,
    set_threads,
    table,
)

from afsearch.confirm import judge
from afsearch.confirm._stats import center, choose_scale
from afsearch.exceptions import AfsearchError, shorten
from afsearch.orchestrator import init_ray, launch
from afsearch.results import compare, trial_candidate
from afsearch.search import check_space
from afsearch.space import ConfirmOptions, SearchSpace, load_space, with_overrides
from afsearch.store import confirm_runs, confirmation, trials
from afsearch.tasks import get_task

SEARCH_SEED = 1
#: The shipped space each task searches, under search_spaces/ (its task set to the task's).
SPACE_FILES: dict[str, str] = {
    "inr-image": "inr.yaml",
    "pinn-poisson": "pinn.yaml",
    "pinn-burgers": "pinn.yaml",
    "digits-mlp": "mnist1d.yaml",
    "mnist1d-mlp": "mnist1d.yaml",
    "mnist1d-cnn": "mnist1d.yaml",
}
QUICK = ["inr-image", "pinn-poisson", "pinn-burgers"]
FULL = [*QUICK, "digits-mlp", "mnist1d-mlp", "mnist1d-cnn"]
#: SIREN's frequencies: the published one and the candidates for the best.
SIREN_OMEGAS = (5.0, 10.0, 30.0)
#: Seconds a burgers trial takes relative to a poisson one (docs/RESULTS.md §4b, about 1.6).
BURGERS_COST = 1.6


def space_path(task: str) -> Path:
    return ROOT / "search_spaces" / SPACE_FILES[task]


def make_space(task: str, trials_n: int, top: int, seeds: int, study: str) -> SearchSpace:
    """The shipped space of ``task`` with its task set to ``task``, ``trials_n`` trials and the
    confirm stage's ``top`` and ``seeds``; nothing else of the file changes (its confirm
    protocol, split and lr_grid included)."""
    path = space_path(task)
    space = with_overrides(load_space(path), task=task, num_samples=trials_n)
    if space.confirm is None:
        raise AfsearchError(f"{path} has no confirm: key; this benchmark confirms its winners.")
    confirm: ConfirmOptions = dataclasses.replace(space.confirm, top=top, seeds=seeds)
    space = dataclasses.replace(space, name=study, confirm=confirm)
    check_space(space)
    return space


def siren_settings(task: str, omega0: float) -> Any:
    base = type(get_task(task)).default_settings
    return dataclasses.replace(base, options={**base.options, "omega0": omega0, "init": "siren"})


def run_task(
    task: str, trials_n: int, args: argparse.Namespace, url: str, runs: Path, seed: int
) -> dict[str, Any]:
    study = f"prove-{task}" if seed == args.search_seed else f"prove-{task}-seed{seed}"
    space = make_space(task, trials_n, args.top, args.seeds, study)
    clock = Stopwatch()
    launch(space, study=study, url=url, runs_dir=runs, seed=seed, **launch_kwargs(args))
    wall = clock.seconds
    rows = trials(study, url)
    counts: dict[str, int] = {}
    for t in rows:
        counts[t.status.value] = counts.get(t.status.value, 0) + 1
    by_id = {t.id: t for t in rows}
    verdicts = confirmation(study, url)
    seeds = sorted({r.seed for r in confirm_runs(study, url)})
    mode = get_task(task).mode
    metric = get_task(task).metric
    values: dict[tuple[str, str], list[float]] = {}
    val_values: dict[tuple[str, str], list[float]] = {}
    for r in confirm_runs(study, url):
        if r.metric_value is not None:
            values.setdefault((r.kind, r.arm), []).append(r.metric_value)
            val = ((r.metrics or {}).get("val") or {}).get(metric)
            if val is not None:
                val_values.setdefault((r.kind, r.arm), []).append(val)
    split = space.confirm.split if space.confirm else "val"
    lr_factors = {(v.kind, v.arm): (v.options or {}).get("lr_factor", 1.0) for v in verdicts}
    candidates: list[dict[str, Any]] = []
    for v in verdicts:
        if v.kind != "candidate":
            continue
        t = by_id[int(v.trial_id or 0)]
        cand = trial_candidate(t, learned=False)
        candidates.append(
            {
                "arm": v.arm,
                "trial_id": v.trial_id,
                "number": t.number,
                "search_value": t.metric_value,
                "expression": cand.text,
                "family": t.activation.family if t.activation else None,
                "candidate": cand.to_dict(),
                "config": (t.config or {}).get("activation"),
                "values": values.get(("candidate", v.arm), []),
                "val_values": val_values.get(("candidate", v.arm), []),
                "lr_factor": lr_factors.get(("candidate", v.arm), 1.0),
                "confirm_stage": {
                    "mean": v.mean,
                    "baseline": v.baseline,
                    "delta": v.delta,
                    "ci": [v.ci_low, v.ci_high],
                    "p": v.p_value,
                    "p_holm": v.p_holm,
                    "verdict": v.verdict,
                    "rank": v.rank,
                },
            }
        )
    # inr-image's baselines run in the study's network (SIREN's, at the space's omega0).
    omega0 = float(space.task_options.get("omega0", 1.0)) if task == "inr-image" else None
    baselines = {
        (v.arm if omega0 is None else f"{v.arm} SIREN omega0={omega0:g}"): values.get(
            ("baseline", v.arm), []
        )
        for v in verdicts
        if v.kind == "baseline"
    }
    # Baselines the task refuses (relu and elu on a PINN): left out by the confirm stage.
    refused = dict((verdicts[0].options or {}).get("refused", {})) if verdicts else {}
    confirm_wall = wall  # launch includes the confirm stage; split below from the runs
    extra: dict[str, list[float]] = {}
    if omega0 is not None and args.extra_baselines:
        # The six standard activations in the task's plain MLP (its defaults) and SIREN at the
        # other omega0 of SIREN_OMEGAS: the same fresh seeds, the same training function.
        clock2 = Stopwatch()
        jobs: list[tuple[str, Any, Any]] = [(n, n, None) for n in BASELINES]
        jobs += [
            (f"sin SIREN omega0={w:g}", "sin", siren_settings(task, w))
            for w in SIREN_OMEGAS
            if w != omega0
        ]
        for label, name, settings in jobs:
            log(f"[{task}] baseline {label} on seeds {seeds}")
            comp = compare(
                [(label, {"family": "standard", "name": name})],
                task,
                seeds=seeds,
                settings=settings,
                parallel=True,
                device=None,
                split=split,
            )[0]
            extra[label] = list(comp.values)
        log(f"  baselines trained in {clock2.seconds:.0f} s")
        baselines.update(extra)
    all_base = [(name, vals) for name, vals in baselines.items()]
    scale = choose_scale(mode, [v for vals in baselines.values() for v in vals])
    rejudged = judge(
        [(c["arm"], c["trial_id"], c["values"]) for c in candidates], all_base, mode, scale=scale
    )
    for c, row in zip(candidates, [r for r in rejudged if r["kind"] == "candidate"], strict=True):
        c["verdict"] = {
            k: row.get(k)
            for k in ("mean", "std", "n", "baseline", "delta", "ci_low", "ci_high", "t")
        } | {"p": row["p_value"], "p_holm": row["p_holm"], "verdict": row["verdict"]}
        c["rank"] = row.get("rank")
    ranked = sorted((c for c in candidates if c.get("rank")), key=lambda c: c["rank"])
    winner = ranked[0] if ranked else None
    sign = 1.0 if mode == "max" else -1.0
    best_base = max(baselines, key=lambda n: sign * _mean(baselines[n]) if baselines[n] else -1e9)
    per_trial = [float(t.duration_s or 0.0) for t in rows if getattr(t, "duration_s", None)]
    runs_s = [r.duration_s or 0.0 for r in confirm_runs(study, url)]
    return {
        "study": study,
        "metric": metric,
        "mode": mode,
        "trials": len(rows),
        "status": counts,
        "launch_wall_s": wall,
        "confirm_train_s": sum(runs_s),
        "confirm_runs": len(runs_s),
        "confirm_wall_s_upper": confirm_wall,
        "trial_s_mean": sum(per_trial) / len(per_trial) if per_trial else None,
        "seeds": seeds,
        "against": list(space.confirm.against) if space.confirm else [],
        "extra_baselines": sorted(extra),
        "refused_baselines": refused,
        "baselines": {
            n: {
                "values": v,
                "mean": _mean(v),
                "val_values": val_values.get(("baseline", n), []),
                "lr_factor": lr_factors.get(("baseline", n), 1.0),
            }
            for n, v in baselines.items()
        },
        "split": split,
        "scale": scale,
        "search_seed": seed,
        "protocol": space.confirm.to_dict() if space.confirm else None,
        "best_baseline": best_base,
        "candidates": candidates,
        "winner": winner,
        "space_file": str(space_path(task).relative_to(ROOT)),
        "space": space.raw,
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def replicate(searches: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether a task's win replicates: every candidate confirmed in any of its searches against
    the first search's tuned baselines (the same fresh seeds), Holm over all of them; the task
    counts as won only when each search's confirmed winner is ``better``. Each winner's worst
    seed and spread are kept: a function that sometimes collapses is worth knowing about."""
    first = searches[0]
    mode, scale = first["mode"], first["scale"]
    base = [(n, b["values"]) for n, b in first["baselines"].items()]
    candidates = [
        (f"s{i}:{c['arm']}", c["trial_id"], c["values"])
        for i, d in enumerate(searches)
        for c in d["candidates"]
    ]
    rows = {
        r["arm"]: r for r in judge(candidates, base, mode, scale=scale) if r["kind"] != "baseline"
    }
    winners: list[dict[str, Any] | None] = []
    for i, d in enumerate(searches):
        w = d.get("winner")
        if w is None:
            winners.append(None)
            continue
        row, vals = rows[f"s{i}:{w['arm']}"], w["values"]
        mean, spread = center(vals, scale)
        winners.append(
            {
                "search_seed": d["search_seed"],
                "number": w["number"],
                "expression": w["expression"],
                "test_mean": mean,
                "val_mean": center(w.get("val_values") or [], scale)[0],
                "spread": spread,
                "worst": (min(vals) if mode == "max" else max(vals)) if vals else None,
                "n": len(vals),
                "lr_factor": w.get("lr_factor"),
                "baseline": row["baseline"],
                "delta": row["delta"],
                "ci": [row["ci_low"], row["ci_high"]],
                "p_holm": row["p_holm"],
                "verdict": row["verdict"],
            }
        )
    replicated = len(winners) > 1 and all(w and w["verdict"] == "better" for w in winners)
    return {"holm_over": len(candidates), "scale": scale, "winners": winners,
            "replicated": replicated}  # fmt: skip


def transfer(data: dict[str, Any], parallel: bool = True) -> dict[str, Any]:
    """Each task's winner on every other task (3 fresh seeds, that task's defaults); on Ray
    with ``parallel``, else one training at a time in this process (no Ray)."""
    tasks = [t for t, d in data["tasks"].items() if d.get("winner")]
    seeds = list(range(10_000, 10_003))
    matrix: dict[str, dict[str, Any]] = {}
    for src in tasks:
        win = data["tasks"][src]["winner"]
        matrix[src] = {}
        for dst in data["tasks"]:
            if dst == src:
                v = win["values"]
                matrix[src][dst] = {"values": v, "mean": _mean(v), "note": "confirmed"}
                continue
            try:
                comp = compare(
                    [(src, win["config"] or win["candidate"])],
                    dst,
                    seeds=seeds,
                    settings=None,
                    parallel=parallel,
                    device=None if parallel else "cpu",
                    split="test",
                )[0]
            except AfsearchError as exc:
                matrix[src][dst] = {"values": [], "mean": None, "note": f"refused: {exc}"}
                log(f"  transfer {src} -> {dst}: refused")
                continue
            vals = list(comp.values)
            div = sum(r.diverged for r in comp.runs)
            matrix[src][dst] = {"values": vals, "mean": _mean(vals), "diverged": div}
            log(f"  transfer {src} -> {dst}: {_mean(vals):.4g}")
    return {"seeds": seeds, "matrix": matrix}


def _fmt(v: float | None, metric: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.2f}" if "psnr" in metric else f"{v:.4g}"


def report(data: dict[str, Any]) -> str:
    rows = []
    for task, d in data["tasks"].items():
        w = d.get("winner")
        m = d["metric"]
        b = d["best_baseline"]
        bv = d["baselines"][b]["values"]
        if not w:
            rows.append([task, d["trials"], f"{b} {_fmt(_mean(bv), m)}", "-", "", "", "", ""])
            continue
        v = w["verdict"]
        rows.append(
            [
                task,
                d["trials"],
                f"{b} {_fmt(_mean(bv), m)}",
                f"#{w['number']} {_fmt(v['mean'], m)} (n={v['n']})",
                f"{_fmt(v['delta'], m)} [{_fmt(v['ci_low'], m)}, {_fmt(v['ci_high'], m)}]",
                fmt_p(v["p_holm"]),
                v["verdict"],
                shorten(w["expression"], 70),
            ]
        )
    head = [
        "task",
        "trials",
        "best baseline (mean)",
        "confirmed winner (mean)",
        "Δ [95% CI]",
        "Holm p",
        "verdict",
        "winner",
    ]
    parts = [table(head, rows)]
    rep_rows = []
    for task, d in data["tasks"].items():
        rep = d.get("replication")
        if not rep:
            continue
        m = d["metric"]
        for w in rep["winners"]:
            if w is None:
                rep_rows.append([task, "-", "no winner", "", "", "", "", "", "", ""])
                continue
            delta = f"×{w['delta']:.3g}" if rep["scale"] == "log" else _fmt(w["delta"], m)
            rep_rows.append(
                [
                    task,
                    w["search_seed"],
                    f"#{w['number']} {shorten(w['expression'], 40)}",
                    f"{_fmt(w['val_mean'], m)} / {_fmt(w['test_mean'], m)}",
                    _fmt(w["worst"], m),
                    f"{w['spread']:.3g}",
                    f"{delta} vs {w['baseline']}",
                    fmt_p(w["p_holm"]),
                    w["verdict"],
                    "yes" if rep["replicated"] else "no",
                ]
            )
    if rep_rows:
        parts.append(
            "Replication: each search's confirmed winner against the best tuned baseline on the "
            "test split, Holm over every candidate of the task's searches:"
        )
        parts.append(
            table(
                ["task", "search seed", "winner", "val / test mean", "worst seed", "spread",
                 "Δ", "Holm p", "verdict", "replicated"],
                rep_rows,
            )
        )  # fmt: skip
    for task, d in data["tasks"].items():
        m = d["metric"]
        brow = [
            [n, _fmt(x["mean"], m), len(x["values"])]
            for n, x in sorted(
                d["baselines"].items(),
                key=lambda kv: -kv[1]["mean"] if d["mode"] == "max" else kv[1]["mean"],
            )
        ]
        crow = [
            [
                f"#{c['number']} {shorten(c['expression'], 50)}",
                _fmt(c["verdict"]["mean"], m),
                c["verdict"]["n"],
                _fmt(c["search_value"], m),
                fmt_p(c["verdict"]["p_holm"]),
                c["verdict"]["verdict"],
            ]
            for c in d["candidates"]
        ]
        parts.append(f"{task} ({m}, {d['mode']}); baselines on seeds {d['seeds']}:")
        parts.append(table(["baseline", "mean", "n"], brow, "lrr"))
        parts.append(
            table(
                ["candidate", "confirmed mean", "n", "search value", "Holm p", "verdict"],
                crow,
                "lrrrrl",
            )
        )
    tr = data.get("transfer")
    if tr:
        tasks = list(data["tasks"])
        rows = []
        for src, row in tr["matrix"].items():
            cells = [src]
            for dst in tasks:
                c = row.get(dst, {})
                if c.get("mean") is None:
                    cells.append("refused" if "refused" in c.get("note", "") else "-")
                else:
                    cells.append(_fmt(c["mean"], data["tasks"][dst]["metric"]))
            rows.append(cells)
        best = ["best baseline"] + [
            f"{d['best_baseline']} {_fmt(d['baselines'][d['best_baseline']]['mean'], d['metric'])}"
            for d in data["tasks"].values()
        ]
        parts.append("Transfer (rows: whose winner; columns: trained on):")
        parts.append(table(["winner of", *tasks], [*rows, best]))
    return "\n\n".join(parts)


def plot(data: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from afsearch.activations import build, label
    from afsearch.expr import Candidate

    tasks = [t for t, d in data["tasks"].items() if d.get("winner")]
    out = []
    # Three tasks a row, each a column of two panels: the functions above, the seeds below.
    cols = min(3, len(tasks))
    groups_n = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(
        2 * groups_n, cols, figsize=(4.6 * cols, 7.5 * groups_n), squeeze=False
    )
    for k in range(len(tasks), groups_n * cols):
        axes[-2][k % cols].axis("off")
        axes[-1][k % cols].axis("off")
    x = np.linspace(-3, 3, 601)
    for j, task in enumerate(tasks):
        d = data["tasks"][task]
        w = d["winner"]
        b = d["best_baseline"]
        top, col = 2 * (j // cols), j % cols
        ax = axes[top][col]
        fw = numpy_fn(Candidate.from_dict(w["candidate"]))
        ax.plot(x, fw(x), label=f"winner #{w['number']}", lw=2)
        name = b.split()[0]  # "sin SIREN omega0=10": sin in SIREN's network
        fb = numpy_fn(build({"family": "standard", "name": name}))
        ax.plot(x, fb(x), "--", label=f"best baseline: {b}", lw=1.5)
        named = label(w["config"]) if w.get("config") and w["family"] != "grammar" else ""
        ax.set_title(f"{task}: {named}\n{shorten(w['expression'], 48)}", fontsize=8)
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend(fontsize=7)
        ax.set_xlabel("x")
        ax = axes[top + 1][col]
        names = sorted(
            d["baselines"], key=lambda n: _mean(d["baselines"][n]["values"]), reverse=True
        )
        groups = [("winner", w["values"])] + [(n, d["baselines"][n]["values"]) for n in names]
        for k, (_, vals) in enumerate(groups):
            ax.scatter([k] * len(vals), vals, s=12, color="C0" if k == 0 else "C1")
            if vals:
                ax.hlines(_mean(vals), k - 0.3, k + 0.3, color="k")
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(
            [n.replace("sin SIREN ", "SIREN ") for n, _ in groups],
            rotation=60,
            fontsize=7,
            ha="right",
        )
        ax.set_ylabel(f"{d['metric']} (fresh seeds)")
        if d["mode"] == "min":
            ax.set_yscale("log")
    fig.tight_layout()
    path = DOCS / "prove_winners.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    out.append(path)
    tr = data.get("transfer")
    if tr:
        all_tasks = list(data["tasks"])
        srcs = list(tr["matrix"])
        grid = np.full((len(srcs), len(all_tasks)), np.nan)
        for i, src in enumerate(srcs):
            for j2, dst in enumerate(all_tasks):
                c = tr["matrix"][src].get(dst, {})
                dd = data["tasks"][dst]
                base = dd["baselines"][dd["best_baseline"]]["mean"]
                if c.get("mean") is not None and base:
                    # Relative to the best baseline: PSNR difference in dB, accuracy in
                    # points, error ratio in log10.
                    points = 100.0 if "accuracy" in dd["metric"] else 1.0
                    grid[i, j2] = (
                        points * (c["mean"] - base)
                        if dd["mode"] == "max"
                        else -math.log10(max(c["mean"], 1e-12) / base)
                    )
        fig, ax = plt.subplots(figsize=(1.9 * len(all_tasks) + 2, 1.2 * len(srcs) + 1.5))
        lim = np.nanmax(np.abs(grid)) if np.isfinite(grid).any() else 1.0
        im = ax.imshow(grid, cmap="RdBu", vmin=-lim, vmax=lim)
        for i in range(len(srcs)):
            for j2 in range(len(all_tasks)):
                txt = "refused" if np.isnan(grid[i, j2]) else f"{grid[i, j2]:+.2f}"
                ax.text(j2, i, txt, ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(all_tasks)))
        ax.set_xticklabels(all_tasks)
        ax.set_yticks(range(len(srcs)))
        ax.set_yticklabels([f"winner of {s}" for s in srcs])
        ax.set_title(
            "Winner trained on each task against its best baseline\n"
            "(PSNR: dB above; accuracy: points above; error: -log10 of the ratio;\n"
            "above 0 is better)",
            fontsize=9,
        )
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        path = DOCS / "prove_transfer.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out.append(path)
    return out


def main() -> None:
    parser = arguments(
        __doc__,
        quick="inr-image, pinn-poisson (100 trials), pinn-burgers as time allows",
        full="six tasks, 200 trials each, on a cluster",
        json="output file (default benchmarks/results/)",
    )
    parser.add_argument("--tasks", nargs="+", choices=FULL, help="a subset of the tasks")
    parser.add_argument("--trials", type=int, help="search trials per task (100 quick, 200 full)")
    parser.add_argument("--top", type=int, default=5, help="candidates confirmed")
    parser.add_argument("--seeds", type=int, default=10, help="fresh seeds of the confirmation")
    parser.add_argument("--minutes", type=float, default=65.0, help="wall budget of --quick")
    parser.add_argument(
        "--search-seed",
        type=int,
        default=SEARCH_SEED,
        help="seed of the searches (another seed: does a second search find as good a winner?)",
    )
    parser.add_argument(
        "--searches",
        type=int,
        default=1,
        help="independent searches per task (search seeds from --search-seed up); with 2 or "
        "more, a task counts as won only if every search's winner beats the best tuned baseline",
    )
    parser.add_argument(
        "--extra-baselines",
        action="store_true",
        help="inr-image: also train the plain MLP's standard activations and SIREN at other "
        "omega0 (untuned, in this process)",
    )
    parser.add_argument("--transfer", action="store_true", help="also the transfer matrix")
    parser.add_argument("--plot", action="store_true", help="draw docs/prove_*.png")
    parser.add_argument("--report", type=Path, metavar="JSON", help="print the tables of a file")
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="join the tasks of result files (runs of some tasks each), then the transfer matrix",
    )
    add_launch_options(parser)
    args = parser.parse_args()
    if args.merge:
        parts = [json.loads(p.read_text()) for p in args.merge]
        merged = {**parts[0], "tasks": {}, "merged_from": [str(p) for p in args.merge]}
        for part in parts:
            merged["tasks"].update(part["tasks"])
        merged["wall_s"] = sum(part.get("wall_s", 0.0) for part in parts)
        if args.transfer:
            # Each winner on every other task: 3 seeds per pair, on Ray (two at a time here).
            set_threads(1)
            clock = Stopwatch()
            init_ray(args.address, None if args.address else args.cpus, None)
            merged["transfer"] = transfer(merged)
            merged["transfer_wall_s"] = clock.seconds
        log(f"wrote {save(merged, 'bench_prove', args.json, bool(args.full))}")
        if args.plot:
            for p in plot(merged):
                log(f"wrote {p}")
        print(report(merged))
        return
    if args.report:
        saved = json.loads(args.report.read_text())
        if args.plot:
            for p in plot(saved):
                log(f"wrote {p}")
        print(report(saved))
        return
    set_threads(1)
    full = bool(args.full)
    tasks = args.tasks or (FULL if full else QUICK)
    n_trials = args.trials or (200 if full else 100)
    clock = Stopwatch()
    data: dict[str, Any] = {
        **run_info("bench_prove", full),
        "trials": n_trials,
        "top": args.top,
        "seeds": args.seeds,
        "search_seed": args.search_seed,
        "searches": args.searches,
        "tasks": {},
    }
    from _common import workdir

    # One Ray instance for every launch, confirmation and re-training of the run.
    init_ray(args.address, None if args.address else args.cpus, None)
    with workdir(args.workdir) as wd:
        url = f"sqlite:///{wd / 'bench_prove.db'}"
        poisson_trial_s = None
        for task in tasks:
            budget = n_trials
            if not full and task == "pinn-burgers" and poisson_trial_s:
                # Poisson's launch (search and confirm) scaled by a burgers trial's cost; 300 s
                # kept for the transfer matrix.
                left = args.minutes * 60 - clock.seconds - 300
                budget = min(n_trials, int(n_trials * left / (BURGERS_COST * poisson_trial_s)))
                if budget < 30:
                    log(f"[{task}] skipped: {left:.0f} s left, {budget} trials would fit")
                    data["skipped"] = {task: f"{budget} trials would fit in the time left"}
                    continue
            log(f"[{task}] {budget} trials, confirm top {args.top} on {args.seeds} seeds")
            t0 = clock.seconds
            searches = []
            for i in range(args.searches):
                seed = args.search_seed + i
                searches.append(run_task(task, budget, args, url, wd / "runs", seed))
                w = searches[-1].get("winner") or {}
                log(f"  search seed {seed}: winner {w.get('expression')}")
            d = data["tasks"][task] = searches[0]
            if len(searches) > 1:
                d["other_searches"] = searches[1:]
                d["replication"] = replicate(searches)
                log(f"  replicated: {d['replication']['replicated']}")
            d["wall_s"] = clock.seconds - t0
            d["budget"] = budget
            if task == "pinn-poisson":
                poisson_trial_s = d["launch_wall_s"]
            w = d.get("winner") or {}
            log(f"  {d['wall_s']:.0f} s; winner {w.get('expression')}: {w.get('verdict')}")
            data["wall_s"] = clock.seconds
            save(data, "bench_prove", args.json, full)
        if args.transfer:
            log("transfer matrix")
            data["transfer"] = transfer(data)
        data["wall_s"] = clock.seconds
        path = save(data, "bench_prove", args.json, full)
        log(f"wrote {path}; {clock.seconds:.0f} s in all")
    if args.plot:
        for p in plot(data):
            log(f"wrote {p}")
    print(report(data))


if __name__ == "__main__":
    main()
