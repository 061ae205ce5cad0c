"""How the driver reads a trial's last report: status, error text, metrics."""

from __future__ import annotations

from afsearch.store import TrialStatus
from afsearch.trial.report import (
    DIVERGED,
    FINAL,
    LEARNED,
    REUSED_FROM,
    TIMED_OUT,
    WHY_DIVERGED,
    classify,
    epoch_metrics,
)


def test_classify_reads_each_ending() -> None:
    assert classify({REUSED_FROM: 4}) == (TrialStatus.DUPLICATE, None, 4)
    assert classify({DIVERGED: 1})[:2] == (
        TrialStatus.DIVERGED,
        "the training loss became NaN or infinite",
    )
    why = "the training collapsed: val_accuracy fell to 0.1000"
    assert classify({DIVERGED: 1, WHY_DIVERGED: why})[1] == why
    assert classify({TIMED_OUT: 1})[0] == TrialStatus.FAILED
    assert classify({FINAL: 1, REUSED_FROM: -1})[0] == TrialStatus.COMPLETED
    assert classify({})[0] == TrialStatus.PRUNED


def test_epoch_metrics_keep_numbers_and_drop_texts() -> None:
    result = {"val_accuracy": 0.9, "val_loss": float("inf"), LEARNED: "{}", WHY_DIVERGED: "x"}
    assert epoch_metrics(result) == {"val_accuracy": 0.9, "val_loss": None}
