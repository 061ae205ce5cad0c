"""``afsearch studies``, ``trials`` and ``show``: reading the trial database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from afsearch.cli._common import (
    DbOption,
    JsonOption,
    app,
    fmt,
    out,
    print_json,
    trial_ref,
    user_errors,
)
from afsearch.cli._leaderboard import leaderboard, pick_study


@app.command()
@user_errors
def studies(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the studies in the database."""
    from afsearch.store import studies as list_studies

    rows = list_studies(db)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    table = Table(title="Studies")
    # Counts over the last columns; when the study was created is in --json.
    table.add_column("name", no_wrap=True)
    for col in ("task", "metric", "status", "trials", "done", "pruned", "distinct", "skipped"):
        table.add_column(col)
    table.add_column("best", no_wrap=True)
    for r in rows:
        table.add_row(
            r.name,
            r.task,
            f"{r.metric} ({r.mode})",
            r.status.value,
            str(r.n_trials),
            str(r.n_completed),
            str(r.n_pruned),
            str(r.n_distinct),
            str(r.duplicates_avoided),
            fmt(r.best_value),
        )
    table.caption = (
        "done: completed; distinct: functions trained; skipped: proposals of known functions"
    )
    out.print(table)


@app.command("trials")
@user_errors
def trials_cmd(
    db: DbOption = None,
    study: Annotated[str | None, typer.Option(help="Study name.")] = None,
    top: Annotated[int | None, typer.Option(help="Best K trials by the study's metric.")] = None,
    status: Annotated[
        list[str] | None, typer.Option(help="Only trials with this status (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List a study's trials, best first with --top."""
    from afsearch.store import trials

    name = pick_study(study, db)
    if as_json:
        print_json([t.to_dict() for t in trials(name, db, top=top, status=status)])
        return
    leaderboard(name, db, top, status)


@app.command()
@user_errors
def show(
    trial: Annotated[str, typer.Argument(help="Trial id, or STUDY/NUMBER.")],
    db: DbOption = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Write a PNG: the activation, its derivative and the learning curve."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show one trial: its activation, parameters, metrics per epoch."""
    from afsearch.store import epochs
    from afsearch.store import trial as get_trial

    ref: int | str = trial_ref(trial)
    t = get_trial(ref, db)
    rows = epochs(t.id, db)
    if as_json:
        print_json({**t.to_dict(), "epochs": [e.to_dict() for e in rows]})
    else:
        cfg = t.config or {}
        out.print(
            f"[bold]{t.study}/{t.number}[/] (id {t.id})  status [bold]{t.status.value}[/]"
            f"  metric {fmt(t.metric_value)}  node {t.node or '-'}"
        )
        out.print(f"activation {t.activation_id}: {cfg.get('expression', '-')}")
        out.print(f"config: {json.dumps(cfg.get('activation', {}))}")
        if t.learned_params:
            out.print(f"learned: {json.dumps(t.learned_params.get('mean', t.learned_params))}")
        if t.duplicate_of is not None:
            out.print(f"reused the result of trial id {t.duplicate_of}")
        if t.error:
            out.print(f"error: {t.error}")
        if t.checkpoint:
            out.print(f"checkpoint after epoch {t.checkpoint_epoch}: {t.checkpoint}", markup=False)
        if rows:
            table = Table(title="epochs")
            keys = [k for k in rows[0].metrics if not k.startswith(("time_", "training_"))][:8]
            table.add_column("epoch")
            for k in keys:
                table.add_column(k)
            for e in rows:
                table.add_row(str(e.epoch), *[fmt(e.metrics.get(k)) for k in keys])
            out.print(table)
    if plot is not None:
        from afsearch.results import plot_trial

        written = plot_trial(t, rows, plot)
        if not as_json:
            out.print(f"wrote {written}")
