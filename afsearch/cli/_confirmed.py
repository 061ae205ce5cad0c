"""How the CLI shows a study's confirmation: a table after the leaderboard, a column of
``studies``, and a trial's own line in ``show``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

from afsearch.cli._common import fmt, out

if TYPE_CHECKING:
    from afsearch.store import StudySummary, TrialStore, VerdictRecord


def verdicts(study: str, db: str | TrialStore | None) -> list[VerdictRecord]:
    from afsearch.store import confirmation

    return confirmation(study, db)


def pfmt(p: float | None) -> str:
    """A p-value to three significant digits (small ones stay readable)."""
    return "-" if p is None else f"{p:.3g}"


def _log(v: VerdictRecord) -> bool:
    return (v.options or {}).get("scale") == "log"


def split_of(v: VerdictRecord) -> str:
    """The split that judged (confirmations stored before test judged were on ``val``)."""
    return str((v.options or {}).get("split", "val"))


def mean_std(v: VerdictRecord) -> str:
    """``0.9123 ± 0.0040``, or for errors compared on a log scale the geometric mean and its
    spread factor, ``0.0123 ×/÷ 1.8``."""
    if v.mean is None:
        return "-"
    if _log(v):
        return f"{fmt(v.mean)} ×/÷ {v.std:.3g}" if v.std is not None else fmt(v.mean)
    return f"{fmt(v.mean)} ± {fmt(v.std)}"


def delta_text(v: VerdictRecord) -> str:
    """Δ against the best baseline with its 95% interval, as ``+0.0123 [+0.0040, +0.0206]``,
    or a ratio of geometric means, ``×0.42 [×0.30, ×0.59]``."""
    if v.delta is None:
        return "-"
    return f"{_delta(v, 4)} {_interval(v, 4)}"


def _delta(v: VerdictRecord, digits: int = 3) -> str:
    if v.delta is None:
        return "-"
    return f"×{v.delta:.{digits}g}" if _log(v) else f"{v.delta:+.{digits}g}"


def _interval(v: VerdictRecord, digits: int = 3) -> str:
    if v.ci_low is None or v.ci_high is None:
        return "-"
    if _log(v):
        return f"[×{v.ci_low:.{digits}g}, ×{v.ci_high:.{digits}g}]"
    return f"[{v.ci_low:+.{digits}g}, {v.ci_high:+.{digits}g}]"


def short(v: VerdictRecord) -> str:
    """A leaderboard cell: the confirmed rank and verdict (``★`` marks the confirmed best)."""
    mark = "★ " if v.is_best else ""
    return f"{mark}{mean_std(v)} {v.verdict} ({split_of(v)})"


def confirmed_cell(summary: StudySummary) -> str:
    """``afsearch studies``' cell of a study's confirmed best: ``#3 0.9123 better (test)``."""
    if summary.confirmed_trial is None:
        return "-"
    split = f" ({summary.confirmed_split})" if summary.confirmed_split else ""
    return (
        f"#{summary.confirmed_trial} {fmt(summary.confirmed_mean)} "
        f"{summary.confirmed_verdict}{split}"
    )


def confirmation_table(study: str, rows: list[VerdictRecord]) -> Table:
    """The verdicts of a confirmation: candidates (confirmed best first), then baselines, then
    the winners and the best baseline under each extra recipe."""
    options: dict[str, Any] = rows[0].options or {}
    seeds = options.get("fresh_seeds") or []
    baseline = next((v.baseline for v in rows if v.baseline), None)
    tuned = bool(options.get("lr_grid"))
    table = Table(
        title=f"{study}: confirmed on {len(seeds)} fresh seeds, judged on the "
        f"{split_of(rows[0])} split; Δ against the best baseline, {baseline or '-'}"
    )
    columns = ["rank", "trial", "n", "mean ± std", "Δ", "95% CI", "p", "Holm p", "verdict"]
    if tuned:
        columns.insert(3, "lr ×")
    for col in columns:
        table.add_column(col, no_wrap=col in ("trial", "verdict"))
    for v in rows:
        extra = v.options or {}
        name = f"#{v.trial_number}" if v.kind == "candidate" else v.arm
        if v.kind == "recipe":
            arm = v.arm.partition(":")[2]
            shown = f"#{v.trial_number}" if v.trial_number is not None else arm
            name = f"{shown} [{extra.get('recipe', '?')}]"
        cells = [
            str(v.rank) if v.rank else "-",
            name,
            str(v.n),
            mean_std(v),
            _delta(v),
            _interval(v),
            pfmt(v.p_value),
            pfmt(v.p_holm),
            v.verdict,
        ]
        if tuned:
            factor = extra.get("lr_factor")
            cells.insert(3, "-" if factor is None or v.kind == "recipe" else f"{factor:g}")
        table.add_row(*cells)
    test = options.get("test") or "Welch's t-test"
    caption = (
        f"{test}, Holm over the candidates; baselines: {', '.join(options.get('against', []))}"
    )
    if tuned:
        caption += (
            f"; lr ×: the factor of the task's lr each arm chose on the validation split over "
            f"{options.get('tuning_seeds', '?')} tuning seeds from {options['lr_grid']}"
        )
    table.caption = caption + "; ★: the study's best"
    return table


def print_confirmation(study: str, db: str | TrialStore | None) -> list[VerdictRecord]:
    """Print the study's confirmation table, if it has one; its verdicts."""
    rows = verdicts(study, db)
    if rows:
        out.print(confirmation_table(study, rows))
    return rows


def trial_lines(v: VerdictRecord) -> list[str]:
    """What ``show`` says of a trial's confirmation."""
    options = v.options or {}
    seeds = options.get("fresh_seeds") or []
    best = " (the study's confirmed best)" if v.is_best else ""
    factor = options.get("lr_factor")
    tuned = f", lr × {factor:g} (tuned on val)" if options.get("lr_grid") and factor else ""
    return [
        f"confirmed on {len(seeds)} fresh seeds, {split_of(v)} split: {mean_std(v)} over "
        f"{v.n} runs, rank {v.rank}{best}{tuned}",
        f"  vs {v.baseline}: Δ {delta_text(v)}, p {pfmt(v.p_value)}, "
        f"Holm p {pfmt(v.p_holm)}: {v.verdict}",
    ]
