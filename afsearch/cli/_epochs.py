"""The epoch table of ``afsearch show``: each metric once, the trial's flags as words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table

from afsearch.cli._common import fmt
from afsearch.trial.report import ACTIVATION_COST as COST
from afsearch.trial.report import ACTIVATION_MEMORY as MEMORY
from afsearch.trial.report import (
    DIVERGED,
    EPOCH,
    FINAL,
    RESUMED_AT,
    REUSED_FROM,
    TIMED_OUT,
)

# The activation's cost is the same every epoch: shown once.
#: Entries that repeat the epoch column or are Tune's clock, not the task's metrics.
HIDDEN = frozenset({EPOCH, "training_iteration", "time_this_iter_s", "time_total_s", COST, MEMORY})
#: Entries that are flags, shown as words in the last column.
FLAGS = frozenset({FINAL, DIVERGED, TIMED_OUT, REUSED_FROM, RESUMED_AT})
SECONDS = "epoch_seconds"


def notes(metrics: dict[str, Any]) -> str:
    """The flags of one epoch as words: ``last epoch``, ``diverged``, ``replays trial id 4``."""
    words = []
    if metrics.get(DIVERGED):
        words.append("diverged")
    if metrics.get(TIMED_OUT):
        words.append("timed out")
    reused = metrics.get(REUSED_FROM)
    if reused is not None and reused >= 0:
        words.append(f"replays trial id {int(reused)}")
    resumed = metrics.get(RESUMED_AT)
    if resumed:
        words.append(f"resumed from the epoch {int(resumed)} checkpoint")
    if metrics.get(FINAL):
        words.append("last epoch")
    return ", ".join(words)


def cost_text(rows: Sequence[Any]) -> str | None:
    """The activation's cost from the last epoch that reported it, as ``2.4x ReLU``."""
    for row in reversed(rows):
        cost = row.metrics.get(COST)
        if cost is not None:
            memory = row.metrics.get(MEMORY)
            extra = f", memory {memory:.2g}x" if memory is not None else ""
            return f"{cost:.2g}x ReLU{extra}"
    return None


def metric_columns(rows: Sequence[Any], metric: str | None) -> list[str]:
    """The metrics to show, each once: the study's metric first, the others as reported,
    the epoch's seconds last."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row.metrics:
            if key not in HIDDEN and key not in FLAGS:
                seen.setdefault(key, None)
    keys = [k for k in seen if k not in (metric, SECONDS)]
    first = [metric] if metric in seen else []
    return first + keys + ([SECONDS] if SECONDS in seen else [])


def epoch_table(rows: Sequence[Any], metric: str | None) -> Table:
    keys = metric_columns(rows, metric)
    cells = [[fmt(row.metrics.get(k), 2 if k == SECONDS else 4) for k in keys] for row in rows]
    flagged = [notes(row.metrics) for row in rows]
    # Light lines, so a task's usual metrics fit 80 columns: headers are words (val_accuracy
    # as "val accuracy") that wrap onto a second line in a column as wide as its numbers.
    table = Table(title="epochs", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("epoch", justify="right", no_wrap=True)
    for i, key in enumerate(keys):
        header = "seconds" if key == SECONDS else key.replace("_", " ")
        width = max([len(w) for w in header.split()] + [len(c[i]) for c in cells])
        table.add_column(header, justify="right", width=width)
    if any(flagged):
        table.add_column("notes")
    for row, values, note in zip(rows, cells, flagged):
        table.add_row(str(row.epoch), *values, *([note] if any(flagged) else []))
    return table
