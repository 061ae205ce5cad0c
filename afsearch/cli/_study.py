"""``afsearch study delete|rename|copy``: manage a study, afsearch's rows and the Optuna study
together (``afsearch stop`` asks a running study to end)."""

from __future__ import annotations

from typing import Annotated

import typer

from afsearch.cli._common import DbOption, JsonOption, app, out, print_json, user_errors

study_app = typer.Typer(
    help="Delete, rename or copy a study: its trials and its Optuna study go together.",
    no_args_is_help=True,
)
app.add_typer(study_app, name="study")

StudyArg = Annotated[str, typer.Argument(help="The study's name.")]
NewNameArg = Annotated[str, typer.Argument(help="The new study's name.")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force", help="Also a study marked running (its driver was killed, or is elsewhere)."
    ),
]


def _report(change: object, verb: str, as_json: bool) -> None:
    from dataclasses import asdict

    data = asdict(change)  # type: ignore[call-overload]
    if as_json:
        print_json(data)
        return
    optuna = "and its Optuna study" if data["optuna_rows"] else "(it had no Optuna study)"
    if verb == "Renamed":
        line = f"Renamed study {data['study']!r} to {data['target']!r} {optuna}."
    else:
        trials = data["afsearch_rows"].get("afs_trials", 0)
        target = f" as {data['target']!r}" if data["target"] != data["study"] else ""
        line = f"{verb} study {data['study']!r}{target}: {trials} trials {optuna}."
    out.print(line, markup=False)


@study_app.command("delete")
@user_errors
def delete(
    study: StudyArg,
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Delete a study: its trials, epochs and Optuna study (the name is free again).

    Ray's experiment folders and checkpoints under the runs folder are kept.
    """
    from afsearch.store import delete_study, get_study, trials

    record = get_study(study, db)
    if not yes:
        count = len(trials(study, db))
        typer.confirm(
            f"Delete study {record.name!r} ({record.status.value}, {count} trials) and its "
            "Optuna study? This cannot be undone",
            abort=True,
        )
    _report(delete_study(study, db, force=force), "Deleted", as_json)


@study_app.command("rename")
@user_errors
def rename(
    study: StudyArg,
    new_name: NewNameArg,
    db: DbOption = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Rename a study and its Optuna study."""
    from afsearch.store import rename_study

    _report(rename_study(study, new_name, db, force=force), "Renamed", as_json)


@study_app.command("copy")
@user_errors
def copy(
    study: StudyArg, new_name: NewNameArg, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Copy a study with its trials and Optuna study (resume the copy with launch --resume)."""
    from afsearch.store import copy_study

    _report(copy_study(study, new_name, db), "Copied", as_json)


@app.command()
@user_errors
def stop(study: StudyArg, db: DbOption = None) -> None:
    """Ask a running study to stop: trials end their epoch; resume with launch --resume."""
    from afsearch.store import request_stop

    request_stop(study, db)
    out.print(
        f"Asked study {study!r} to stop: its running trials end at their current epoch and are "
        f"marked interrupted; continue it with afsearch launch SPACE --study {study} --resume.",
        markup=False,
    )
