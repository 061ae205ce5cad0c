"""``afsearch importance``, ``plot`` and ``compare``: a study as a whole, or several."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from afsearch.cli._common import DbOption, JsonOption, app, fmt, out, print_json, user_errors

StudyArg = Annotated[str, typer.Argument(help="The study's name.")]


@app.command()
@user_errors
def importance(study: StudyArg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Rank a study's parameters by importance (Optuna's fANOVA)."""
    from afsearch.results import importances

    found = importances(study, db)
    if as_json:
        print_json(found)
        return
    table = Table(title=f"Parameter importances of {study}")
    table.add_column("parameter", no_wrap=True)
    table.add_column("importance", justify="right")
    table.add_column("")
    for name, value in found.items():
        table.add_row(name, f"{value:.3f}", "█" * max(1, round(value * 30)))
    out.print(table)


@app.command()
@user_errors
def plot(
    study: StudyArg,
    out_file: Annotated[Path, typer.Option("--out", help="The PNG file to write.")],
    db: DbOption = None,
    top: Annotated[int, typer.Option(help="Best distinct activations drawn.")] = 5,
) -> None:
    """Plot a study: best so far per trial, its top activations, the Pareto front."""
    from afsearch.results import plot_study

    written = plot_study(study, db, path=out_file, top=top)
    out.print(f"wrote {written}", markup=False)


@app.command()
@user_errors
def compare(
    studies: Annotated[list[str], typer.Argument(help="The studies to compare.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show several studies' best trials side by side."""
    from dataclasses import asdict

    from afsearch.results import compare_studies

    rows = compare_studies(studies, db)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table(title="Best trial of each study")
    table.add_column("", no_wrap=True)
    for r in rows:
        table.add_column(r.study, no_wrap=True)
    lines = [
        ("task", [r.task for r in rows]),
        ("metric", [f"{r.metric} ({r.mode})" for r in rows]),
        ("sampler", [r.sampler for r in rows]),
        ("status", [r.status for r in rows]),
        ("trials (done)", [f"{r.trials} ({r.completed})" for r in rows]),
        ("best", [fmt(r.best_value) for r in rows]),
        ("trial", ["-" if r.best_trial is None else f"#{r.best_trial}" for r in rows]),
        ("activation", [escape(r.expression or "-") for r in rows]),
        (
            "learned",
            [", ".join(f"{k}={v:.4g}" for k, v in r.learned.items()) or "-" for r in rows],
        ),
    ]
    for label, cells in lines:
        table.add_row(label, *cells)
    out.print(table)
