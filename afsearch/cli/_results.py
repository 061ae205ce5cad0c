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
from afsearch.exceptions import AfsearchError, choices


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
    if exported.site_modules:
        modules = ", ".join(str(p) for p in exported.site_modules)
        out.print(
            f"wrote one module per activation site ({modules}) and the index {exported.json_path}",
            markup=False,
        )
    else:
        out.print(f"wrote {exported.module_path} and {exported.json_path}")


@app.command()
@user_errors
def rerun(
    trial: Annotated[
        str | None, typer.Argument(help=TRIAL_HELP + " With --top: the study (or --study).")
    ] = None,
    db: DbOption = None,
    study: StudyOption = None,
    seeds: Annotated[int, typer.Option(help="Fresh seeds to train on.")] = 5,
    against: Annotated[
        str, typer.Option(help="Comma-separated standard activations to compare with.")
    ] = "relu,gelu,silu",
    epochs: Annotated[int | None, typer.Option(help="Override the trial's epochs.")] = None,
    task: Annotated[
        str | None,
        typer.Option(
            help="Train on this task instead of the trial's, with its default settings (the "
            "transfer check: a winner of one task on another)."
        ),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(help="The study's K best distinct candidates instead of one trial."),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            help="Torch device of each training (cpu, cuda, cuda:1); by default CUDA where Ray "
            "gives the training a GPU, else the CPU."
        ),
    ] = None,
    cpus_per_trial: Annotated[float, typer.Option(help="CPUs of each training.")] = 1.0,
    gpus_per_trial: Annotated[
        float | None, typer.Option(help="GPUs of each training (default 1 with --device cuda).")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster to run on (default: a local Ray).")
    ] = None,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help="Train one at a time here instead of on Ray: quicker for a few short "
            "trainings (Ray's start costs seconds).",
        ),
    ] = False,
    split: Annotated[
        str, typer.Option(help="The split that judges: test (the default) or val.")
    ] = "test",
    lr_grid: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated factors of the task's lr (e.g. 0.3,1,3): each activation "
            "picks its factor on the validation split over --tuning-seeds seeds of its own "
            "before it is judged, as the confirm stage's lr_grid."
        ),
    ] = None,
    tuning_seeds: Annotated[int, typer.Option(help="Seeds per factor of --lr-grid.")] = 2,
    as_json: JsonOption = False,
) -> None:
    """Train a trial's activation (or a study's top K) again on fresh seeds, as Ray tasks in
    parallel, against baselines (Welch's t-test, on the logs for an error; Holm over the
    candidates), judged on the test split."""
    protocol = _protocol(split, lr_grid, tuning_seeds)
    found, baselines, spec_task, settings, objective = _rerun_plan(
        trial, db, study, against, epochs, task, top
    )
    if gpus_per_trial is None:
        gpus_per_trial = 1.0 if device and device.startswith("cuda") else 0.0
    results = _rerun_train(
        found + baselines,
        spec_task,
        settings,
        seeds=seeds,
        device=device,
        address=address,
        in_process=in_process,
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        quiet=as_json,
        objective=objective,
        protocol=protocol,
    )
    rows = _rerun_rows(results, len(found))
    if as_json:
        print_json(rows)
        return
    out.print(_rerun_table(results, rows, spec_task, seeds, len(found)))


def _protocol(split: str, lr_grid: str | None, tuning_seeds: int) -> Any:
    """The judging protocol of ``rerun``, checked as the confirm stage's options are."""
    from afsearch.space import ConfirmOptions

    grid: list[Any] | None = None
    if lr_grid is not None:
        grid = []
        for part in lr_grid.split(","):
            try:
                grid.append(float(part))
            except ValueError:
                raise AfsearchError(
                    f"--lr-grid must be comma-separated numbers such as 0.3,1,3, got {lr_grid!r}."
                ) from None
    raw = {"split": split, "lr_grid": grid, "tuning_seeds": tuning_seeds}
    try:
        return ConfirmOptions.parse(raw)
    except AfsearchError as exc:
        raise AfsearchError(str(exc).replace(" of confirm", "")) from None


def _rerun_plan(
    trial: str | None,
    db: str | None,
    study: str | None,
    against: str,
    epochs: int | None,
    task: str | None,
    top: int | None,
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]], str, Any, tuple[str, str] | None]:
    """What ``rerun`` trains: the candidates, the baselines, the task, its settings and the
    study's metric and mode (``None`` for another task's own)."""
    import dataclasses

    from afsearch.confirm import top_distinct
    from afsearch.expr import KNOWN
    from afsearch.results import trial_candidate
    from afsearch.store import trial as get_trial
    from afsearch.tasks import get_task
    from afsearch.trial import TrialSpec

    if top is not None:
        if top < 1:
            raise AfsearchError(f"--top must be at least 1, got {top}.")
        if trial is not None and study is not None:
            raise AfsearchError("With --top, name the study once: as the argument or --study.")
        picked = top_distinct(db, pick_study(trial or study, db), top, "--top")
    elif trial is None:
        raise AfsearchError("Name a trial (STUDY/N, or N with --study), or a study with --top.")
    else:
        picked = [get_trial(trial_ref(trial, study, db), db)]
    for t in picked:
        cfg = t.config or {}
        if "task" not in cfg or "settings" not in cfg:
            raise AfsearchError(
                f"Trial {t.study}/{t.number} does not record its task and settings."
            )
    spec = TrialSpec.from_dict(picked[0].config)
    settings = spec.settings
    if task is not None and task != spec.task:
        # Another task takes its own settings: the trial's options belong to its task.
        settings = get_task(task).default_settings
    if epochs is not None:
        settings = dataclasses.replace(settings, epochs=epochs)
    names = [n.strip() for n in against.split(",") if n.strip()]
    bad = [n for n in names if n not in KNOWN]
    if bad:
        raise AfsearchError(
            f"--against names {bad[0]!r}, which is not a standard activation; valid names are "
            f"{choices(KNOWN)}."
        )
    # Each trains as the search trained it: initial values, trainable ones learned again.
    found = [(f"{t.study}/{t.number}", trial_candidate(t, False)) for t in picked]
    baselines = [(n, {"family": "standard", "name": n}) for n in names]
    own = task is None or task == spec.task
    objective = (spec.metric, spec.mode) if own else None
    return found, baselines, task or spec.task, settings, objective


def _rerun_train(
    activations: list[tuple[str, Any]],
    task: str,
    settings: Any,
    *,
    seeds: int,
    device: str | None,
    address: str | None,
    in_process: bool,
    cpus_per_trial: float,
    gpus_per_trial: float,
    quiet: bool,
    objective: tuple[str, str] | None,
    protocol: Any,
) -> list[Any]:
    """Each activation's runs on ``seeds`` fresh seeds: on Ray, or one at a time here."""
    from afsearch.orchestrator import init_ray
    from afsearch.results import compare, fresh_seeds

    def progress(name: str, seed: int, run: Any) -> None:
        if not quiet:
            err.print(f"  {name} seed {seed}: {fmt(run.metric)} ({run.seconds:.1f}s)")

    started = False if in_process else init_ray(address, None, None)
    try:
        return compare(
            activations,
            task,
            seeds=fresh_seeds(seeds),
            settings=settings,
            device=device or ("cpu" if in_process else None),
            progress=progress,
            parallel=not in_process,
            cpus_per_trial=cpus_per_trial,
            gpus_per_trial=gpus_per_trial,
            objective=objective,
            split=protocol.split,
            lr_grid=protocol.lr_grid,
            tuning_seeds=protocol.tuning_seeds,
        )
    finally:
        if started:
            import ray

            ray.shutdown()


def _rerun_rows(results: list[Any], n_found: int) -> list[dict[str, Any]]:
    """One row per activation: its runs, Welch's t and p of the first candidate against it
    and, with several candidates, each one's verdict against the best baseline (Holm). Errors
    to minimise are compared on the log scale (ratios of geometric means)."""
    from afsearch.confirm import judge
    from afsearch.confirm._stats import TESTS, choose_scale, compare

    first = results[0]
    scale = choose_scale(first.mode, [v for r in results for v in r.values])
    rows: list[dict[str, Any]] = []
    for r in results:
        if r is first:
            stat, p = math.nan, math.nan
        else:
            found = compare(first.values, r.values, scale)
            stat, p = found["t"], found["p_value"]
        rows.append({**r.to_dict(), "t": stat, "p_value": p, "scale": scale, "test": TESTS[scale]})
    if n_found > 1:
        verdicts = judge(
            [(r.name, None, r.values) for r in results[:n_found]],
            [(r.name, r.values) for r in results[n_found:]],
            first.mode,
            scale=scale,
        )
        for row, v in zip(rows[:n_found], verdicts[:n_found], strict=True):
            row.update({k: v[k] for k in ("baseline", "delta", "ci_low", "ci_high", "p_holm")})
            row.update(p_vs_baseline=v["p_value"], verdict=v["verdict"], rank=v.get("rank"))
    return rows


def _rerun_table(
    results: list[Any], rows: list[dict[str, Any]], task: str, seeds: int, n_found: int
) -> Table:
    from afsearch.confirm._protocol import split_metric

    first = results[0]
    shown = split_metric(first.metric, first.split)
    table = Table(title=f"{task}: {shown} ({first.split} split) on {seeds} fresh seeds")
    table.caption = rows[0]["test"] if rows else None
    tuned = any(r.lr_factor != 1.0 for r in results)
    columns = ["activation", "mean", "std", "diverged", f"Welch t vs {first.name}", "p"]
    if tuned:
        columns.insert(1, "lr ×")
    if n_found > 1:
        columns += ["Δ vs best baseline [95% CI]", "p vs it", "Holm p", "verdict"]
    for col in columns:
        table.add_column(col)
    for row in rows:
        cells = [
            row["name"],
            *([f"{row['lr_factor']:g}"] if tuned else []),
            fmt(row["mean"]),
            fmt(row["std"]),
            str(row["diverged"]),
            fmt(row["t"], 2),
            fmt(row["p_value"], 3),
        ]
        if n_found > 1:
            cells += [
                _interval(row),
                fmt(row.get("p_vs_baseline"), 3),
                fmt(row.get("p_holm"), 3),
                row.get("verdict", ""),
            ]
        table.add_row(*cells)
    return table


def _interval(row: dict[str, Any]) -> str:
    if row.get("delta") is None or math.isnan(row["delta"]):
        return "-"
    return f"{row['delta']:+.4g} [{row['ci_low']:+.4g}, {row['ci_high']:+.4g}]"
