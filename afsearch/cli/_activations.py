"""``afsearch families`` and ``afsearch export-expr``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from afsearch.cli._common import (
    JsonOption,
    app,
    out,
    print_json,
    user_errors,
)
from afsearch.exceptions import AfsearchError, shorten


@app.command()
@user_errors
def families(as_json: JsonOption = False) -> None:
    """List the activation families: name, formula, parameters."""
    from afsearch.activations import list_families

    described = [f.describe() for f in list_families()]
    if as_json:
        print_json(described)
        return
    table = Table(title="Activation families")
    for col in ("name", "formula", "parameters", "options"):
        table.add_column(col)
    for d in described:
        params = ", ".join(
            f"{p['name']}={p['default']:.4g}{' (train)' if p['trainable'] else ''}"
            for p in d["parameters"]
        )
        options = ", ".join(f"{k}={shorten(str(v), 24)}" for k, v in d["options"].items())
        table.add_row(d["name"], d["formula"], params or "-", options or "-")
    out.print(table)


def _parse_params(items: list[str] | None) -> dict[str, float]:
    params: dict[str, float] = {}
    for item in items or []:
        if "=" not in item:
            raise AfsearchError(f"--param takes NAME=VALUE, got {item!r}.")
        name, value = item.split("=", 1)
        try:
            number = float(value)
        except ValueError:
            raise AfsearchError(
                f"The value of parameter {name!r} must be a number, got {value!r}."
            ) from None
        if not math.isfinite(number):
            raise AfsearchError(f"The value of parameter {name!r} must be finite, got {value!r}.")
        params[name.strip()] = number
    return params


@app.command("export-expr")
@user_errors
def export_expr(
    expr: Annotated[str, typer.Argument(help="An expression in x, e.g. 'x*sigmoid(beta*x)'.")],
    param: Annotated[
        list[str] | None, typer.Option("--param", help="NAME=VALUE, repeatable.")
    ] = None,
    trainable: Annotated[
        list[str] | None, typer.Option("--trainable", help="A parameter that trains, repeatable.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Class name of the module.")] = "Activation",
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("."),
) -> None:
    """Export an expression as a standalone PyTorch module (.py) and a JSON record."""
    from afsearch.expr import Param, parse_expression
    from afsearch.results import export_activation

    values = _parse_params(param)
    train = set(trainable or [])
    unknown = train - set(values)
    if unknown:
        raise AfsearchError(f"--trainable {sorted(unknown)[0]!r} has no --param value.")
    parsed = parse_expression(expr)
    used = {s.name for s in parsed.free_symbols} - {"x"}
    unused = set(values) - used
    if unused:
        raise AfsearchError(
            f"The expression has no parameter {sorted(unused)[0]!r}; it uses "
            f"{', '.join(sorted(used)) or 'none'}."
        )
    missing = used - set(values)
    if missing:
        raise AfsearchError(
            f"The expression uses {', '.join(sorted(missing))}; give each a value with "
            "--param NAME=VALUE."
        )
    params = {n: Param(v, n in train) for n, v in values.items()}
    exported = export_activation(parsed, params, name, out_dir)
    out.print(f"wrote {exported.module_path} and {exported.json_path}")
