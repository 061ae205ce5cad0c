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
def validate(space: Annotated[Path, typer.Argument(help="A search space YAML file.")]) -> None:
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
