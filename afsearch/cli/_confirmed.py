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


def mean_std(v: VerdictRecord) -> str:
    return f"{fmt(v.mean)} ± {fmt(v.std)}" if v.mean is not None else "-"


def delta_text(v: VerdictRecord) -> str:
    """Δ against the best baseline with its 95% interval, as ``+0.0123 [+0.0040, +0.0206]``."""
    if v.delta is None:
        return "-"
    low = "-" if v.ci_low is None else f"{v.ci_low:+.4g}"
    high = "-" if v.ci_high is None else f"{v.ci_high:+.4g}"
    return f"{v.delta:+.4g} [{low}, {high}]"


def short(v: VerdictRecord) -> str:
    """A leaderboard cell: the confirmed rank and verdict (``★`` marks the confirmed best)."""
    mark = "★ " if v.is_best else ""
    return f"{mark}{mean_std(v)} {v.verdict}"


def confirmed_cell(summary: StudySummary) -> str:
    """``afsearch studies``' cell of a study's confirmed best: ``#3 0.9123 better``."""
    if summary.confirmed_trial is None:
        return "-"
    return f"#{summary.confirmed_trial} {fmt(summary.confirmed_mean)} {summary.confirmed_verdict}"


def confirmation_table(study: str, rows: list[VerdictRecord]) -> Table:
    """The verdicts of a confirmation: candidates (confirmed best first), then baselines."""
    options: dict[str, Any] = rows[0].options or {}
    seeds = options.get("fresh_seeds") or []
    baseline = next((v.baseline for v in rows if v.baseline), None)
    table = Table(
        title=f"{study}: confirmed on {len(seeds)} fresh seeds; Δ against the best baseline, "
        f"{baseline or '-'}"
    )
    for col in ("rank", "trial", "n", "mean ± std", "Δ", "95% CI", "p", "Holm p", "verdict"):
        table.add_column(col, no_wrap=col in ("trial", "verdict"))
    for v in rows:
        interval = (
            "-" if v.ci_low is None or v.ci_high is None else f"[{v.ci_low:+.3g}, {v.ci_high:+.3g}]"
        )
        table.add_row(
            str(v.rank) if v.rank else "-",
            f"#{v.trial_number}" if v.kind == "candidate" else v.arm,
            str(v.n),
            mean_std(v),
            "-" if v.delta is None else f"{v.delta:+.3g}",
            interval,
            pfmt(v.p_value),
            pfmt(v.p_holm),
            v.verdict,
        )
    table.caption = (
        f"Welch's t-test, Holm over the candidates; baselines: "
        f"{', '.join(options.get('against', []))}; ★: the study's best"
    )
    return table


def print_confirmation(study: str, db: str | TrialStore | None) -> list[VerdictRecord]:
    """Print the study's confirmation table, if it has one; its verdicts."""
    rows = verdicts(study, db)
    if rows:
        out.print(confirmation_table(study, rows))
    return rows


def trial_lines(v: VerdictRecord) -> list[str]:
    """What ``show`` says of a trial's confirmation."""
    seeds = (v.options or {}).get("fresh_seeds") or []
    best = " (the study's confirmed best)" if v.is_best else ""
    return [
        f"confirmed on {len(seeds)} fresh seeds: {mean_std(v)} over {v.n} runs, rank {v.rank}"
        f"{best}",
        f"  vs {v.baseline}: Δ {delta_text(v)}, p {pfmt(v.p_value)}, "
        f"Holm p {pfmt(v.p_holm)}: {v.verdict}",
    ]
