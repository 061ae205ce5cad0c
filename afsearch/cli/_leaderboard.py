"""The leaderboard table that ``launch`` ends with and ``trials`` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from afsearch.cli._common import fmt, out
from afsearch.cli._confirmed import print_confirmation, short, verdicts
from afsearch.cli._epochs import cost_text
from afsearch.exceptions import AfsearchError

if TYPE_CHECKING:
    from afsearch.store import TrialStore


def trial_ref(text: str, study: str | None, db: str | None) -> int | str:
    """What a trial argument names, for :func:`afsearch.store.trial`: ``STUDY/N`` as given,
    ``N`` or ``#N`` the trial number N of ``study`` (or of the database's only study), and
    ``id:ID`` the trial with that database id. A bare number is always a trial number, as the
    leaderboard shows it; database ids need their prefix."""
    text = text.strip()
    if text.startswith("id:") and text[3:].isdigit():
        return int(text[3:])
    number = text[1:] if text.startswith("#") else text
    if number.isdigit():
        return f"{pick_study(study, db)}/{int(number)}"
    if "/" in text:
        return text
    raise AfsearchError(
        f"The trial {text!r} is not STUDY/N, N (or #N) with --study, or id:ID; for example "
        "quickstart/3, 3 --study quickstart, or id:17."
    )


def pick_study(study: str | None, db: str | None) -> str:
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
    """A short name for a trial's activation, as its family labels it."""
    from afsearch.activations import label

    return label(config.get("activation") or {}, config.get("expression"))


def leaderboard(
    study: str, db: str | TrialStore | None, top: int | None, status: list[str] | None
) -> None:
    from afsearch.store import reader

    # One connection for the study, its trials, their last epochs and the confirmation.
    with reader(db) as store:
        _leaderboard(study, store, top, status)


def _leaderboard(study: str, db: TrialStore, top: int | None, status: list[str] | None) -> None:
    from afsearch.results._pareto import objectives_of
    from afsearch.store import epochs, get_study, trials

    info = get_study(study, db)
    goals = objectives_of(info.space)
    if len(goals) > 1:
        rows, ranks = _by_pareto_rank(trials(study, db, status=status), goals, top)
    else:
        rows, ranks = trials(study, db, top=top, status=status), {}
    confirmed = {v.trial_id: v for v in verdicts(study, db) if v.kind == "candidate"}
    best = next((v.trial_id for v in confirmed.values() if v.is_best), None)
    if top and best is not None and (not rows or rows[0].id != best):
        # Best first means the confirmed best first (store.study_best), not the luckiest seed.
        head = [t for t in trials(study, db, status=status) if t.id == best]
        rows = (head + [t for t in rows if t.id != best])[:top]
    # No vertical rules: at 80 columns (a pipe, a narrow terminal) the activation keeps its
    # width instead of breaking inside "elu(alpha=1.682)".
    heading = f"{info.metric} ({info.mode})"
    if ranks:
        heading = ", ".join(f"{m} ({d})" for m, d in goals) + " by Pareto rank"
    table = Table(
        title=f"{study}: {heading}" + (f", top {top}" if top else ""),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    table.add_column("trial", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if ranks:
        table.add_column("Pareto", no_wrap=True, justify="right")
        for metric, _ in goals:
            table.add_column(metric, no_wrap=True, justify="right")
    else:
        table.add_column(info.metric, no_wrap=True, justify="right")
    table.add_column("epoch", no_wrap=True, justify="right")
    table.add_column("activation", overflow="fold", min_width=16)
    table.add_column("learned", overflow="fold")
    if confirmed:
        table.add_column("confirmed", overflow="fold")
    costs = {t.id: cost_text(epochs(t.id, db)[-1:]) for t in rows}
    if any(costs.values()):
        table.add_column("cost", no_wrap=True, justify="right")
    for t in rows:
        learned = (t.learned_params or {}).get("mean", {}) if t.learned_params else {}
        learned_text = ", ".join(f"{k}={v:.3g}" for k, v in list(learned.items())[:4])
        if len(learned) > 4:
            learned_text += ", …"
        values = t.values or [None] * len(goals)
        shown = (
            [fmt(ranks.get(t.id)), *(fmt(v) for v in values)] if ranks else [fmt(t.metric_value)]
        )
        table.add_row(
            f"#{t.number}",
            t.status.value,
            *shown,
            fmt(t.best_epoch),
            # Text, not markup: a per-site label reads sites[tanh; silu], which rich would take
            # for a style tag and drop.
            Text(_describe(t.config or {})),
            learned_text or "-",
            *([short(confirmed[t.id]) if t.id in confirmed else "-"] if confirmed else []),
            *([(costs[t.id] or "-").split(",")[0]] if any(costs.values()) else []),
        )
    if ranks:
        table.caption = "Pareto 1: no other trial is as good on every objective and better on one"
    out.print(table)
    if confirmed:
        print_confirmation(study, db)


def _by_pareto_rank(
    rows: list[Any], goals: list[tuple[str, str]], top: int | None
) -> tuple[list[Any], dict[int, int | None]]:
    """A multi-objective study's trials by Pareto rank, then by the first objective; the
    ``top`` first, and each trial's rank by id."""
    from afsearch.results._pareto import pareto_ranks

    ranked = pareto_ranks([t.values for t in rows], [mode for _, mode in goals])
    ranks = {t.id: r for t, r in zip(rows, ranked)}
    sign = 1.0 if goals[0][1] == "min" else -1.0

    def key(t: Any) -> tuple[float, float, int]:
        first = (t.values or [None])[0]
        rank = ranks[t.id]
        return (
            float(rank) if rank is not None else float("inf"),
            sign * first if first is not None else float("inf"),
            t.number,
        )

    ordered = sorted(rows, key=key)
    return (ordered[:top] if top else ordered), ranks
