"""A resumed study's ASHA starts from the rungs its earlier runs filled."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from afsearch.orchestrator._scheduler import ResumableASHA, _rung_history
from afsearch.store import TrialStore


@dataclass
class _Trial:
    trial_id: str


def _asha(mode: str) -> ResumableASHA:
    # Rungs at epochs 1, 3 and 9 (grace period 1, reduction factor 3).
    return ResumableASHA(
        time_attr="epoch", metric="m", mode=mode, max_t=27, grace_period=1, reduction_factor=3
    )


def _decide(asha: ResumableASHA, epoch: int, value: float, trial: str = "new") -> str:
    t = _Trial(trial)
    if trial not in asha._trial_info:
        asha.on_trial_add(None, t)  # type: ignore[arg-type]
    return asha.on_trial_result(None, t, {"epoch": epoch, "m": value})  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "good", "bad"), [("max", 0.9, 0.2), ("min", 0.2, 0.9)])
def test_earlier_results_set_the_cutoffs(mode: str, good: float, bad: float) -> None:
    fresh = _asha(mode)
    assert _decide(fresh, 1, bad) == "CONTINUE"  # empty rungs let anything through

    seeded = _asha(mode)
    history = {f"earlier-{i}": {1: good, 2: good, 3: good} for i in range(5)}
    assert seeded.record_earlier(history) == 10  # rungs 1 and 3, five trials each
    assert _decide(seeded, 1, bad) == "STOP"
    assert _decide(seeded, 1, good, trial="other") == "CONTINUE"


def test_a_trial_continued_past_a_rung_is_judged_there(tmp_path: Path) -> None:
    seeded = _asha("max")
    seeded.record_earlier({f"earlier-{i}": {1: 0.5, 3: 0.8} for i in range(4)})
    # Resumed from its epoch-3 checkpoint: its first result, at epoch 4, meets rung 3.
    assert _decide(seeded, 4, 0.3) == "STOP"


def test_rung_history_skips_trials_that_run_again(tmp_path: Path) -> None:
    from tests.store.helpers import make_study

    with TrialStore(f"sqlite:///{tmp_path / 'h.db'}") as store:
        make_study(store)
        done = store.start_trial("demo", tune_trial_id="a")
        store.record_epochs(done, [(1, {}, 0.4), (2, {}, None), (3, {}, 0.6)])
        store.finish_trial(done, status="completed", metric_value=0.6)
        cut = store.start_trial("demo", tune_trial_id="b")
        store.record_epochs(cut, [(1, {}, 0.5)])
        store.mark_interrupted("demo")
        assert _rung_history(store, "demo") == {f"earlier-{done}": {1: 0.4, 3: 0.6}}
