"""``afsearch studies``, ``trials`` and ``show``: reading the trial database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from afsearch.cli._common import (
    TRIAL_HELP,
    DbOption,
    JsonOption,
    StudyOption,
    app,
    fmt,
    out,
    print_json,
    user_errors,
)
from afsearch.cli._confirmed import confirmed_cell, trial_lines, verdicts
from afsearch.cli._epochs import cost_text, epoch_table
from afsearch.cli._leaderboard import leaderboard, pick_study, trial_ref
from afsearch.exceptions import AfsearchError, choices

if TYPE_CHECKING:
    from afsearch.store import StudySummary

#: What ``afsearch trials --format`` prints.
FORMATS = ("table", "json", "csv")


@app.command()
@user_errors
def studies(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the studies in the database."""
    from afsearch.store import studies as list_studies

    rows = list_studies(db)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    if not rows:
        out.print("The database has no studies yet; run `afsearch launch SPACE.yaml` to start one.")
        return
    out.print(studies_table(rows))


def studies_table(rows: list[StudySummary]) -> Table:
    """The studies, one row each, readable at 80 columns: the task and its metric share a
    cell, and so do the counts, one a line."""
    # No vertical rules, as the leaderboard: a narrow terminal needs every column for text.
    table = Table(
        title="Studies",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    # The name and the task fold where the terminal is narrow; the other columns keep their
    # width, so their headers and values stay whole.
    table.add_column("name", overflow="fold")
    table.add_column("task, metric", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("trials", justify="right", no_wrap=True)
    table.add_column("best", justify="right", no_wrap=True)
    confirmed = any(r.confirmed_trial is not None for r in rows)
    if confirmed:
        table.add_column("confirmed best", no_wrap=True)
    for r in rows:
        counts = [
            str(r.n_trials),
            f"{r.n_completed} done",
            f"{r.n_pruned} pruned",
            f"{r.n_distinct} distinct",
            f"{r.duplicates_avoided} skipped",
        ]
        table.add_row(
            r.name,
            f"{r.task}\n{r.metric} ({r.mode})",
            r.status.value,
            "\n".join(counts),
            fmt(r.best_value),
            *([confirmed_cell(r)] if confirmed else []),
        )
    table.caption = (
        "done: completed; distinct: functions trained; skipped: proposals of known functions"
        + (
            "; confirmed best: mean over fresh seeds, verdict against the best baseline"
            if confirmed
            else ""
        )
    )
    return table


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
    output: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="table, json or csv (one row per trial, as trials_frame: config.* and "
            "learned.* columns), like `optuna trials -f`.",
        ),
    ] = "table",
) -> None:
    """List a study's trials, best first with --top."""
    from afsearch.store import trials, trials_frame

    if output not in FORMATS:
        raise AfsearchError(f"--format must be {choices(FORMATS)}, got {output!r}.")
    name = pick_study(study, db)
    if as_json or output == "json":
        confirmed = {
            v.trial_id: v.to_dict()
            for v in verdicts(name, db)
            if v.trial_id and v.kind == "candidate"
        }
        rows = trials(name, db, top=top, status=status)
        ranks = _pareto_ranks(name, db, rows)
        print_json(
            [
                {
                    **t.to_dict(),
                    "confirmation": confirmed.get(t.id),
                    **({"pareto_rank": ranks[t.id]} if ranks else {}),
                }
                for t in rows
            ]
        )
    elif output == "csv":
        sys.stdout.write(trials_frame(name, db, top=top, status=status).to_csv(index=False))
    else:
        leaderboard(name, db, top, status)


@app.command()
@user_errors
def show(
    trial: Annotated[str, typer.Argument(help=TRIAL_HELP)],
    db: DbOption = None,
    study: StudyOption = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Write a PNG: the activation, its derivative and the learning curve."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show one trial: its activation, parameters, metrics per epoch."""
    from afsearch.store import epochs
    from afsearch.store import trial as get_trial

    t = get_trial(trial_ref(trial, study, db), db)
    rows = epochs(t.id, db)
    verdict = next(
        (v for v in verdicts(t.study, db) if v.trial_id == t.id and v.kind == "candidate"), None
    )
    if as_json:
        print_json(
            {
                **t.to_dict(),
                "epochs": [e.to_dict() for e in rows],
                "confirmation": verdict.to_dict() if verdict else None,
            }
        )
    else:
        cfg = t.config or {}
        out.print(
            f"[bold]{t.study}/{t.number}[/] (id {t.id})  status [bold]{t.status.value}[/]"
            f"  metric {fmt(t.metric_value)}  node {t.node or '-'}"
        )
        out.print(f"device {t.device or '-'}", markup=False, highlight=False)
        out.print(f"activation {t.activation_id}: {cfg.get('expression', '-')}")
        out.print(f"config: {json.dumps(cfg.get('activation', {}))}")
        for line in site_lines(cfg):
            out.print(line, markup=False)
        if t.learned_params:
            out.print(f"learned: {json.dumps(t.learned_params.get('mean', t.learned_params))}")
            for line in channel_lines(t.learned_params):
                out.print(line, markup=False)
        cost = cost_text(rows)
        if cost:
            out.print(f"activation cost (forward+backward per element): {cost}", markup=False)
        if t.duplicate_of is not None:
            out.print(f"reused the result of trial id {t.duplicate_of}")
        if t.error:
            out.print(f"error: {t.error}")
        if t.checkpoint:
            out.print(f"checkpoint after epoch {t.checkpoint_epoch}: {t.checkpoint}", markup=False)
        for line in trial_lines(verdict) if verdict else []:
            out.print(line, markup=False)
        if rows:
            out.print(epoch_table(rows, cfg.get("metric")))
    if plot is not None:
        from afsearch.results import plot_trial

        written = plot_trial(t, rows, plot)
        if not as_json:
            out.print(f"wrote {written}")


def channel_lines(learned_params: Any) -> list[str]:
    """One line per per-channel parameter: its spread over the channels of every site (the
    vectors are in ``show --json``)."""
    from afsearch.results import channel_summary

    return [
        f"  {name} per channel ({int(s['sites'])} sites x {int(s['channels'])} channels): "
        f"mean {s['mean']:.4g}, min {s['min']:.4g}, max {s['max']:.4g}"
        for name, s in channel_summary(learned_params).items()
    ]


def site_lines(config: Any) -> list[str]:
    """A per-site trial's activation at each site of the network, one line each."""
    activation = config.get("activation") if isinstance(config, dict) else None
    if not isinstance(activation, dict) or activation.get("family") != "per_site":
        return []
    sites = activation.get("sites")
    if not isinstance(sites, list):
        return []
    texts = str(config.get("expression", "")).split("; ")
    if len(texts) != len(sites):
        texts = ["-"] * len(sites)
    return [f"  site {k}: {text}" for k, text in enumerate(texts)]


def _pareto_ranks(study: str, db: Any, rows: list[Any]) -> dict[int, int | None]:
    """Each trial's Pareto rank in a multi-objective study (none for one objective)."""
    from afsearch.results._pareto import objectives_of, pareto_ranks
    from afsearch.store import get_study, trials

    goals = objectives_of(get_study(study, db).space)
    if len(goals) < 2:
        return {}
    every = trials(study, db)
    ranked = pareto_ranks([t.values for t in every], [mode for _, mode in goals])
    by_id = {t.id: r for t, r in zip(every, ranked)}
    return {t.id: by_id.get(t.id) for t in rows}
