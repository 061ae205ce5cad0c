"""``afsearch launch``: run a search, then print its leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from afsearch.cli._common import (
    DbOption,
    app,
    err,
    out,
    user_errors,
)
from afsearch.cli._leaderboard import leaderboard

if TYPE_CHECKING:
    from afsearch.orchestrator import LaunchResult


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
    cpus_per_trial: Annotated[
        float | None, typer.Option(help="CPUs per trial (default: the space's resources, or 1).")
    ] = None,
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(help="GPUs per trial, 0.5 shares one (default: the space's resources, or 0)."),
    ] = None,
    max_concurrent: Annotated[int | None, typer.Option(help="Trials at once.")] = None,
    num_cpus: Annotated[int | None, typer.Option(help="CPUs of the local Ray instance.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted study.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and the trainings.")] = 0,
    runs_dir: Annotated[Path | None, typer.Option(help="Where Ray keeps experiment state.")] = None,
    reuse: Annotated[bool, typer.Option(help="Reuse results of identical finished trials.")] = True,
    quiet: Annotated[
        bool, typer.Option(help="Plain progress lines instead of the live view.")
    ] = False,
    top: Annotated[int, typer.Option(help="Rows of the leaderboard printed at the end.")] = 5,
    max_failures: Annotated[
        int | None, typer.Option(help="Retries of a trial whose worker fails.")
    ] = None,
    trial_timeout: Annotated[
        float | None, typer.Option(help="Seconds a trial may train before it is stopped.")
    ] = None,
    log: Annotated[
        list[str] | None,
        typer.Option(
            help="Write each trial to mlflow or tensorboard under the runs directory "
            "(repeatable; replaces the space's log)."
        ),
    ] = None,
) -> None:
    """Run a search: every trial lands in the database."""
    _check_space(space)
    result, url = _run_search(
        space,
        db,
        quiet,
        study=study,
        task=task,
        num_samples=num_samples,
        address=address,
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        max_concurrent=max_concurrent,
        resume=resume,
        seed=seed,
        runs_dir=runs_dir,
        num_cpus=num_cpus,
        reuse=reuse,
        max_failures=max_failures,
        trial_timeout_s=trial_timeout,
        log=tuple(log) if log else None,
    )
    _print_outcome(result, url, top)


def _check_space(space: Path) -> None:
    # The space first, before Ray, pandas and torch are imported: a typo fails at once.
    from afsearch.search import check_space
    from afsearch.space import load_space

    check_space(load_space(space))


def _run_search(
    space: Path, db: str | None, quiet: bool, **settings: Any
) -> tuple[LaunchResult, str]:
    """The finished (or stopped) study, and the database URL it was written to."""
    from afsearch.cli._live import LiveView, PlainLines
    from afsearch.orchestrator import launch as run_launch
    from afsearch.store import resolve_url

    url = resolve_url(db)
    live = out.is_terminal and not quiet
    view = LiveView(out) if live else PlainLines(err)
    try:
        with view:
            result = run_launch(space, url=url, observer=view, **settings)
    except KeyboardInterrupt:
        err.print("interrupted: the study is saved; continue it with --resume")
        raise typer.Exit(130) from None
    return result, url


def _print_outcome(result: LaunchResult, url: str, top: int) -> None:
    """How the study ended, what it trained and skipped, and its leaderboard."""
    from afsearch.store import DRIVER_RETRIES, TrialStore, get_study, studies

    out.print(
        f"study [bold]{result.study}[/]: {result.status.value}, {result.num_trials} trials "
        f"in {result.url}"
    )
    if result.stop_reason:
        out.print(f"stopped early: {result.stop_reason}.", highlight=False)
    # The driver's patience: a database restarting as the study ends does not lose the table.
    with TrialStore(url, retries=DRIVER_RETRIES, wait=True) as store:
        summary = {s.name: s for s in studies(store)}[result.study]
        out.print(
            f"{summary.n_distinct} distinct functions trained, {summary.duplicates_avoided} "
            f"known proposals skipped, {summary.n_pruned} trials pruned",
            highlight=False,
        )
        screened = get_study(result.study, store).prescreen
        if screened:
            filtered = ", ".join(f"{n} {why}" for why, n in screened["filtered"].items())
            out.print(
                f"prescreen: a pool of {screened['pool']} distinct functions from "
                f"{screened['draws']} draws; filtered out: {filtered or 'none'}",
                highlight=False,
            )
        leaderboard(result.study, store, top, None)
