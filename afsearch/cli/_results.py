"""``afsearch export`` and ``afsearch rerun``: what happens after a search."""

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
from afsearch.cli._leaderboard import pick_study, trial_ref
from afsearch.exceptions import AfsearchError


@app.command()
@user_errors
def export(
    trial: Annotated[str | None, typer.Argument(help=TRIAL_HELP)] = None,
    db: DbOption = None,
    study: Annotated[
        str | None, typer.Option(help="The study of --best, or of a trial given as N.")
    ] = None,
    best: Annotated[bool, typer.Option(help="Export the study's best trial.")] = False,
    # results.EXPORT_DIR, as a literal so that --help imports no torch (a test compares them).
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("exported"),
    name: Annotated[str | None, typer.Option(help="Class name (default from the trial).")] = None,
) -> None:
    """Export a trial's activation, with its learned values, as .py and .json."""
    from afsearch.results import export_trial

    if best:
        exported = export_trial(None, db, study=pick_study(study, db), out_dir=out_dir, name=name)
    elif trial is None:
        raise AfsearchError("Name a trial (STUDY/N, or N with --study), or pass --best.")
    else:
        exported = export_trial(trial_ref(trial, study, db), db, out_dir=out_dir, name=name)
    out.print(f"wrote {exported.module_path} and {exported.json_path}")


@app.command()
@user_errors
def rerun(
    trial: Annotated[str, typer.Argument(help=TRIAL_HELP)],
    db: DbOption = None,
    study: StudyOption = None,
    seeds: Annotated[int, typer.Option(help="Fresh seeds to train on.")] = 5,
    against: Annotated[
        str, typer.Option(help="Comma-separated standard activations to compare with.")
    ] = "relu,gelu,silu",
    epochs: Annotated[int | None, typer.Option(help="Override the trial's epochs.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Train a trial's activation again on fresh seeds, against baselines (Welch's t-test)."""
    import dataclasses

    from afsearch.orchestrator import TrialSpec
    from afsearch.results import compare, fresh_seeds, trial_candidate, welch
    from afsearch.store import trial as get_trial

    t = get_trial(trial_ref(trial, study, db), db)
    cfg = t.config or {}
    if "task" not in cfg or "settings" not in cfg:
        raise AfsearchError(f"Trial {t.study}/{t.number} does not record its task and settings.")
    spec = TrialSpec.from_dict(cfg)
    settings = spec.settings
    if epochs is not None:
        settings = dataclasses.replace(settings, epochs=epochs)
    names = [n.strip() for n in against.split(",") if n.strip()]
    candidates: list[tuple[str, Any]] = [(f"{t.study}/{t.number}", trial_candidate(t, False))]
    candidates += [(n, {"family": "standard", "name": n}) for n in names]

    def progress(name: str, seed: int, run: Any) -> None:
        if not as_json:
            err.print(f"  {name} seed {seed}: {fmt(run.metric)} ({run.seconds:.1f}s)")

    results = compare(
        candidates, spec.task, seeds=fresh_seeds(seeds), settings=settings, progress=progress
    )
    found = results[0]
    rows: list[dict[str, Any]] = []
    for r in results:
        stat, p = welch(found.values, r.values) if r is not found else (math.nan, math.nan)
        rows.append({**r.to_dict(), "t": stat, "p_value": p})
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{spec.task}: {found.metric} on {seeds} fresh seeds")
    for col in ("activation", "mean", "std", "diverged", f"Welch t vs {found.name}", "p"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            row["name"],
            fmt(row["mean"]),
            fmt(row["std"]),
            str(row["diverged"]),
            fmt(row["t"], 2),
            fmt(row["p_value"], 3),
        )
    out.print(table)
