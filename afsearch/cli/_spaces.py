"""``afsearch tasks`` and ``afsearch validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from afsearch.cli._common import (
    JsonOption,
    app,
    out,
    print_json,
    user_errors,
)


@app.command()
@user_errors
def tasks(as_json: JsonOption = False) -> None:
    """List the registered training tasks."""
    from afsearch.tasks import list_tasks

    rows: list[dict[str, Any]] = [
        {
            "name": t.name,
            "metric": t.metric,
            "mode": t.mode,
            "description": t.description,
            "options": t.known_options(),
        }
        for t in list_tasks()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="Tasks (or your own: package.module:factory)")
    for col in ("name", "metric", "mode", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["metric"], r["mode"], r["description"])
    out.print(table)


@app.command()
@user_errors
def validate(
    space: Annotated[Path, typer.Argument(help="A search space YAML file.")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Also build the task's data and network and take one training step with ReLU "
            "on the CPU (a training function: one epoch), and check that the task reports "
            "the space's metric.",
        ),
    ] = False,
) -> None:
    """Check a search space file; errors name the key and the bad value."""
    from afsearch.search import check_space
    from afsearch.space import load_space

    s = load_space(space)
    check_space(s)
    fams = ", ".join(f.label for f in s.families)
    out.print(
        f"{space}: ok — task {s.task}, metric {s.metric} ({s.mode}), sampler {s.sampler}, "
        f"scheduler {s.scheduler}, {s.num_samples} samples, families: {fams}"
    )
    if dry_run:
        _dry_run(s)


def _dry_run(s: Any) -> None:
    """Train the space's task one step and check that it reports every metric the space names."""
    from afsearch.exceptions import AfsearchError
    from afsearch.space import task_settings
    from afsearch.space._task_check import TRIAL_METRICS
    from afsearch.tasks import get_task
    from afsearch.tasks._dry_run import dry_run

    task = get_task(s.task, task_settings(s, {}), search_path=s.folder)
    run = dry_run(task)
    reported = sorted(k for k in run.metrics if k != "epoch_seconds")
    for metric, _ in s.goals:
        if metric not in run.metrics and metric not in TRIAL_METRICS:
            raise AfsearchError(
                f"dry run: task {s.task!r} reported {', '.join(reported) or 'nothing'}, and not "
                f"{metric!r}, the metric the space names."
            )
    out.print(
        f"dry run: ok — {run.sites} activation sites, {run.trained} with ReLU on the CPU in "
        f"{run.seconds:.1f}s; the task reports {', '.join(reported)}"
    )
