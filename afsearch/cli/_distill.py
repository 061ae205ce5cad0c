"""``afsearch distill``: a trained learnable activation as a short formula."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from afsearch.cli._common import (
    TRIAL_HELP,
    DbOption,
    JsonOption,
    StudyOption,
    app,
    err,
    fmt,
    out,
    print_json,
    user_errors,
)
from afsearch.cli._leaderboard import trial_ref


@app.command()
@user_errors
def distill(
    trial: Annotated[str, typer.Argument(help=TRIAL_HELP)],
    db: DbOption = None,
    study: StudyOption = None,
    site: Annotated[
        int | None, typer.Option(help="Only this activation site (default: every learned one).")
    ] = None,
    max_nodes: Annotated[int, typer.Option(help="Largest formula, in operators and leaves x.")] = 8,
    top: Annotated[int, typer.Option(help="Formulas of the Pareto front shown per site.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the fits' jittered starts.")] = 0,
    retrain: Annotated[
        int | None,
        typer.Option(
            help="Train the most accurate formulas on this many fresh seeds, here, against "
            "the learned activation (retrained from its initial values) and the standard ones."
        ),
    ] = None,
    retrain_top: Annotated[
        int, typer.Option(help="How many formulas of each front --retrain trains.")
    ] = 3,
    against: Annotated[
        str, typer.Option(help="Comma-separated standard activations of --retrain.")
    ] = "relu,gelu,silu",
    device: Annotated[str, typer.Option(help="Torch device of --retrain.")] = "cpu",
    plot: Annotated[
        Path | None,
        typer.Option(help="Write a PNG: the learned curve, its formulas, the input density."),
    ] = None,
    latex: Annotated[bool, typer.Option(help="Show each formula's LaTeX too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Distill a trial's learned activation into short formulas: a Pareto front of R² (on the
    inputs its sites saw, weighted by how often) against the number of nodes."""
    from afsearch.distill import distill_trial, plot_distillation

    distilled = distill_trial(
        db, trial_ref(trial, study, db), site, max_nodes=max_nodes, top=top, seed=seed
    )
    retrained = None
    if retrain is not None:
        from afsearch.distill import retrain as retrain_formulas

        names = [n.strip() for n in against.split(",") if n.strip()]
        retrained = retrain_formulas(
            db,
            distilled,
            retrain,
            against=names,
            formulas=retrain_top,
            device=device,
            progress=_progress(as_json),
        )
    written = plot_distillation(distilled, plot) if plot is not None else None
    if as_json:
        data: dict[str, Any] = {"sites": [d.to_dict() for d in distilled]}
        if retrained is not None:
            data["retrain"] = retrained.to_dict()
        if written is not None:
            data["plot"] = str(written)
        print_json(data)
        return
    for d in distilled:
        if d.note:
            out.print(f"note: {d.note}", markup=False)
        out.print(_front_table(d, latex))
    if retrained is not None:
        for name, why in retrained.refused.items():
            out.print(f"left out {name}: {why}", markup=False)
        for row in retrained.rows:
            if row["kind"] != "baseline":
                out.print(f"{row['name']}: {row['formula']}", markup=False)
        out.print(_retrain_table(retrained))
    if written is not None:
        out.print(f"wrote {written}")


def _progress(quiet: bool) -> Any:
    def progress(name: str, seed: int, run: Any) -> None:
        if not quiet:
            err.print(f"  {name} seed {seed}: {fmt(run.metric)} ({run.seconds:.1f}s)")

    return progress


def _front_table(d: Any, latex: bool) -> Table:
    low, high = d.sampled
    where = (
        f"inputs seen {d.seen[0]:.3g} to {d.seen[1]:.3g}, weighted by their density"
        if d.seen
        else "no inputs recorded, equal weights"
    )
    title = (
        f"{d.trial} site {d.site} (of {d.sites}): {d.family}, learned\n"
        f"sampled on [{low:.3g}, {high:.3g}] ({where}); {d.seconds:.1f}s"
    )
    table = Table(title=title)
    for col in ["#", "nodes", "R²", "formula", *(["LaTeX"] if latex else [])]:
        table.add_column(col)
    for i, f in enumerate(d.formulas, start=1):
        cells = [str(i), str(f.nodes), _r2(f.r2), f.text]
        table.add_row(*cells, *([f.latex] if latex else []))
    return table


def _r2(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.6f}"


def _retrain_table(r: Any) -> Table:
    log = r.scale == "log"
    best = next(
        (row["vs_baseline"].get("baseline") for row in r.rows if row.get("vs_baseline")), None
    )
    table = Table(
        title=f"{r.task}: {r.metric} ({r.mode}) on {len(r.seeds)} fresh seeds"
        + ("; geometric means and their ratios" if log else "")
    )
    for col in (
        "activation",
        "nodes",
        "mean ± std",
        "vs learned [95% CI]",
        "Holm p",
        f"vs {best or 'best baseline'} [95% CI]",
        "Holm p",
    ):
        table.add_column(col)
    for row in r.rows:
        own, base = row.get("vs_learned") or {}, row.get("vs_baseline") or {}
        spread = f" {'x/' if log else '±'} {fmt(row['std'], 3)}" if row["std"] is not None else ""
        diverged = f" ({row['diverged']} diverged)" if row["diverged"] else ""
        table.add_row(
            row["name"],
            str(row.get("nodes", "")),
            f"{fmt(row['mean'])}{spread}{diverged}",
            _interval(own, log),
            _verdict(own),
            _interval(base, log),
            _verdict(base),
        )
    return table


def _verdict(v: dict[str, Any]) -> str:
    return f"{fmt(v.get('p_holm'), 3)} {v.get('verdict')}" if v.get("verdict") else ""


def _interval(v: dict[str, Any], log: bool) -> str:
    delta = v.get("delta")
    if delta is None or math.isnan(delta):
        return "-"
    if log:
        text = f"{delta:.3g}x [{v['ci_low']:.3g}, {v['ci_high']:.3g}]"
    else:
        text = f"{delta:+.4g} [{v['ci_low']:+.4g}, {v['ci_high']:+.4g}]"
    return text
