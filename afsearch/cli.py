"""The ``afsearch`` command line: parse, call the library, print.

User errors (:class:`afsearch.exceptions.AfsearchError`) become one line on stderr and exit
status 2; nothing else is printed for them.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from afsearch.exceptions import AfsearchError
from afsearch.store._engine import DB_ENV

if TYPE_CHECKING:
    from afsearch.store import TrialStore

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
            err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "-" if not math.isfinite(v) else f"{v:.{digits}f}"
    return str(v)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------------------------
# Activations


@app.command()
@user_errors
def families(as_json: JsonOption = False) -> None:
    """List the activation families: name, formula, parameters."""
    from afsearch.activations import list_families

    described = [f.describe() for f in list_families()]
    if as_json:
        _json(described)
        return
    table = Table(title="Activation families")
    for col in ("name", "formula", "parameters", "options"):
        table.add_column(col)
    for d in described:
        params = ", ".join(
            f"{p['name']}={p['default']:.4g}{' (train)' if p['trainable'] else ''}"
            for p in d["parameters"]
        )
        options = ", ".join(f"{k}={_short(str(v), 24)}" for k, v in d["options"].items())
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
    missing = {s.name for s in parsed.free_symbols} - {"x"} - set(values)
    if missing:
        raise AfsearchError(
            f"The expression uses {', '.join(sorted(missing))}; give each a value with "
            "--param NAME=VALUE."
        )
    params = {n: Param(v, n in train) for n, v in values.items()}
    exported = export_activation(parsed, params, name, out_dir)
    out.print(f"wrote {exported.module_path} and {exported.json_path}")


# --------------------------------------------------------------------------------------------
# Tasks and spaces


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
        _json(rows)
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
    from afsearch.space import load_space

    s = load_space(space)
    fams = ", ".join(f.label for f in s.families)
    out.print(
        f"{space}: ok — task {s.task}, metric {s.metric} ({s.mode}), sampler {s.sampler}, "
        f"scheduler {s.scheduler}, {s.num_samples} samples, families: {fams}"
    )


# --------------------------------------------------------------------------------------------
# Searching


@app.command()
@user_errors
def launch(
    space: Annotated[Path, typer.Argument(help="A search space YAML file.")],
    study: Annotated[
        str | None, typer.Option(help="Study name (default: the space's name).")
    ] = None,
    task: Annotated[str | None, typer.Option(help="Override the space's task.")] = None,
    num_samples: Annotated[int | None, typer.Option(help="Number of trials.")] = None,
    db: DbOption = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster address (host:port).")] = None,
    cpus_per_trial: Annotated[float, typer.Option(help="CPUs per trial.")] = 1.0,
    gpus_per_trial: Annotated[float, typer.Option(help="GPUs per trial (fractions share).")] = 0.0,
    max_concurrent: Annotated[int | None, typer.Option(help="Trials at once.")] = None,
    num_cpus: Annotated[int | None, typer.Option(help="CPUs of the local Ray instance.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted study.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and the trainings.")] = 0,
    runs_dir: Annotated[Path | None, typer.Option(help="Where Ray keeps experiment state.")] = None,
    reuse: Annotated[bool, typer.Option(help="Reuse results of identical finished trials.")] = True,
    quiet: Annotated[bool, typer.Option(help="No progress lines.")] = False,
    top: Annotated[int, typer.Option(help="Rows of the leaderboard printed at the end.")] = 5,
    max_failures: Annotated[
        int | None, typer.Option(help="Retries of a trial whose worker fails.")
    ] = None,
    trial_timeout: Annotated[
        float | None, typer.Option(help="Seconds a trial may train before it is stopped.")
    ] = None,
) -> None:
    """Run a search: every trial lands in the database."""
    from afsearch.orchestrator import launch as run_launch
    from afsearch.store import DRIVER_RETRIES, TrialStore, resolve_url

    url = resolve_url(db)
    try:
        result = run_launch(
            space,
            study=study,
            task=task,
            num_samples=num_samples,
            url=url,
            address=address,
            cpus_per_trial=cpus_per_trial,
            gpus_per_trial=gpus_per_trial,
            max_concurrent=max_concurrent,
            resume=resume,
            seed=seed,
            runs_dir=runs_dir,
            num_cpus=num_cpus,
            progress=not quiet,
            reuse=reuse,
            max_failures=max_failures,
            trial_timeout_s=trial_timeout,
        )
    except KeyboardInterrupt:
        err.print("interrupted: the study is saved; continue it with --resume")
        raise typer.Exit(130) from None
    out.print(
        f"study [bold]{result.study}[/]: {result.status.value}, {result.num_trials} trials "
        f"in {result.url}"
    )
    # The driver's patience: a database restarting as the study ends does not lose the table.
    with TrialStore(url, retries=DRIVER_RETRIES, wait=True) as store:
        _leaderboard(result.study, store, top, None)


# --------------------------------------------------------------------------------------------
# Querying


@app.command()
@user_errors
def studies(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the studies in the database."""
    from afsearch.store import studies as list_studies

    rows = list_studies(db)
    if as_json:
        _json([r.to_dict() for r in rows])
        return
    table = Table(title="Studies")
    for col in ("name", "task", "metric", "status", "trials", "completed", "best", "created"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.name,
            r.task,
            f"{r.metric} ({r.mode})",
            r.status.value,
            str(r.n_trials),
            str(r.n_completed),
            _fmt(r.best_value),
            r.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


def _pick_study(study: str | None, db: str | None) -> str:
    from afsearch.store import studies as list_studies

    if study:
        return study
    names = [s.name for s in list_studies(db)]
    if len(names) == 1:
        return names[0]
    if not names:
        raise AfsearchError("The database has no studies yet; run `afsearch launch` first.")
    raise AfsearchError(f"Name a study with --study; the database has {', '.join(names[:10])}.")


def _describe(config: dict[str, Any]) -> str:
    """A short name for a trial's activation: family(settings) or, for grammar, its formula."""
    act = config.get("activation") or {}
    family = str(act.get("family", "-"))
    if family in ("grammar", "expression"):
        return _short(str(config.get("expression", family)), 48)
    if family == "ensemble":
        members = [_describe({"activation": m}) for m in act.get("members", [])]
        return _short("ensemble[" + ", ".join(members) + "]", 48)
    args = []
    for k, v in act.items():
        if k == "family":
            continue
        args.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return _short(f"{family}({', '.join(args)})", 48)


def _leaderboard(
    study: str, db: str | TrialStore | None, top: int | None, status: list[str] | None
) -> None:
    from afsearch.store import get_study, trials

    info = get_study(study, db)
    rows = trials(study, db, top=top, status=status)
    table = Table(title=f"{study}: {info.metric} ({info.mode})" + (f", top {top}" if top else ""))
    table.add_column("trial", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column(info.metric, no_wrap=True, justify="right")
    table.add_column("best epoch", no_wrap=True, justify="right")
    table.add_column("activation", overflow="fold")
    table.add_column("learned", overflow="fold")
    for t in rows:
        learned = (t.learned_params or {}).get("mean", {}) if t.learned_params else {}
        learned_text = ", ".join(f"{k}={v:.3g}" for k, v in list(learned.items())[:4])
        if len(learned) > 4:
            learned_text += ", …"
        table.add_row(
            f"#{t.number}",
            t.status.value,
            _fmt(t.metric_value),
            _fmt(t.best_epoch),
            _describe(t.config or {}),
            learned_text or "-",
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

    name = _pick_study(study, db)
    if as_json:
        _json([t.to_dict() for t in trials(name, db, top=top, status=status)])
        return
    _leaderboard(name, db, top, status)


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

    ref: int | str = int(trial) if trial.isdigit() else trial
    t = get_trial(ref, db)
    rows = epochs(t.id, db)
    if as_json:
        _json({**t.to_dict(), "epochs": [e.to_dict() for e in rows]})
    else:
        cfg = t.config or {}
        out.print(
            f"[bold]{t.study}/{t.number}[/] (id {t.id})  status [bold]{t.status.value}[/]"
            f"  metric {_fmt(t.metric_value)}  node {t.node or '-'}"
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
                table.add_row(str(e.epoch), *[_fmt(e.metrics.get(k)) for k in keys])
            out.print(table)
    if plot is not None:
        from afsearch.results import plot_trial

        plot_trial(t, rows, plot)
        if not as_json:
            out.print(f"wrote {plot}")


@app.command()
@user_errors
def export(
    trial: Annotated[str | None, typer.Argument(help="Trial id or STUDY/NUMBER.")] = None,
    db: DbOption = None,
    study: Annotated[str | None, typer.Option(help="With --best: the study.")] = None,
    best: Annotated[bool, typer.Option(help="Export the study's best trial.")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("exported"),
    name: Annotated[str | None, typer.Option(help="Class name (default from the trial).")] = None,
) -> None:
    """Export a trial's activation, with its learned values, as .py and .json."""
    from afsearch.results import export_trial

    if best:
        exported = export_trial(None, db, study=_pick_study(study, db), out_dir=out_dir, name=name)
    elif trial is None:
        raise AfsearchError("Name a trial (id or STUDY/NUMBER), or pass --best --study NAME.")
    else:
        ref: int | str = int(trial) if trial.isdigit() else trial
        exported = export_trial(ref, db, out_dir=out_dir, name=name)
    out.print(f"wrote {exported.module_path} and {exported.json_path}")


@app.command()
@user_errors
def rerun(
    trial: Annotated[str, typer.Argument(help="Trial id or STUDY/NUMBER.")],
    db: DbOption = None,
    seeds: Annotated[int, typer.Option(help="Fresh seeds to train on.")] = 5,
    against: Annotated[
        str, typer.Option(help="Comma-separated standard activations to compare with.")
    ] = "relu,gelu,silu",
    epochs: Annotated[int | None, typer.Option(help="Override the trial's epochs.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Train a trial's activation again on fresh seeds, against baselines (Welch's t-test)."""
    import dataclasses

    from afsearch.results import compare, fresh_seeds, trial_candidate, welch
    from afsearch.store import trial as get_trial
    from afsearch.tasks import TaskSettings

    ref: int | str = int(trial) if trial.isdigit() else trial
    t = get_trial(ref, db)
    cfg = t.config or {}
    if "task" not in cfg or "settings" not in cfg:
        raise AfsearchError(f"Trial {t.study}/{t.number} does not record its task and settings.")
    settings = TaskSettings(**cfg["settings"])
    if epochs is not None:
        settings = dataclasses.replace(settings, epochs=epochs)
    names = [n.strip() for n in against.split(",") if n.strip()]
    candidates: list[tuple[str, Any]] = [(f"{t.study}/{t.number}", trial_candidate(t, False))]
    candidates += [(n, {"family": "standard", "name": n}) for n in names]

    def progress(name: str, seed: int, run: Any) -> None:
        if not as_json:
            err.print(f"  {name} seed {seed}: {_fmt(run.metric)} ({run.seconds:.1f}s)")

    results = compare(
        candidates, cfg["task"], seeds=fresh_seeds(seeds), settings=settings, progress=progress
    )
    found = results[0]
    rows: list[dict[str, Any]] = []
    for r in results:
        stat, p = welch(found.values, r.values) if r is not found else (math.nan, math.nan)
        rows.append({**r.to_dict(), "t": stat, "p_value": p})
    if as_json:
        _json(rows)
        return
    table = Table(title=f"{cfg['task']}: {found.metric} on {seeds} fresh seeds")
    for col in ("activation", "mean", "std", "diverged", f"Welch t vs {found.name}", "p"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            row["name"],
            _fmt(row["mean"]),
            _fmt(row["std"]),
            str(row["diverged"]),
            _fmt(row["t"], 2),
            _fmt(row["p_value"], 3),
        )
    out.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
