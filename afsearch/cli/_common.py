"""What every command shares: the Typer app, its options, user errors as one line, formats."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from afsearch.exceptions import AfsearchError
from afsearch.store import DB_ENV

app = typer.Typer(
    name="afsearch",
    help="Search for neural-network activation functions with Ray Tune and Optuna.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar=DB_ENV,
        help="Database URL (default: sqlite afsearch.db).",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def user_errors(fn: F) -> F:
    """Turn AfsearchError into one sentence on stderr and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AfsearchError as exc:
            # The sentence is shown as written: brackets in it are text, not rich markup.
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "-" if not math.isfinite(v) else f"{v:.{digits}f}"
    return str(v)


#: How commands name a trial, for their help.
TRIAL_HELP = "A trial: STUDY/N, or N (#N) of --study (or of the only study), or id:ID."
StudyOption = Annotated[
    str | None, typer.Option(help="The study of a trial given as N (default: the only one).")
]
