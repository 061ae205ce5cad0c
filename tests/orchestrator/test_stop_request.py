"""The driver's side of ``afsearch stop``, without Ray: a trial it ends is interrupted, not
pruned, and the flag is read at most once per poll interval."""

from __future__ import annotations

import pickle
from pathlib import Path

from afsearch.orchestrator._stop import StopRequest
from afsearch.store import TrialStatus, TrialStore, request_stop
from afsearch.trial.report import FINAL, STOPPED, classify, epoch_metrics
from tests.store.helpers import make_study


def test_a_stopped_trial_is_interrupted_and_a_finished_one_completed() -> None:
    assert classify({STOPPED: 1, "epoch": 2})[0] == TrialStatus.INTERRUPTED
    assert classify({STOPPED: 1, FINAL: 1})[0] == TrialStatus.COMPLETED
    assert classify({"epoch": 2})[0] == TrialStatus.PRUNED
    assert STOPPED not in epoch_metrics({STOPPED: 1, "val_accuracy": 0.5})


def test_the_stopper_marks_the_result_once_a_stop_is_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with TrialStore(url) as store:
        make_study(store)
    stopper = StopRequest(url, "demo", poll_s=0.0)
    result: dict = {"epoch": 1}
    assert not stopper("t1", result) and not stopper.stop_all() and STOPPED not in result
    request_stop("demo", url)
    assert stopper("t1", result) and result[STOPPED] == 1 and not stopper.stop_all()
    # Pickled into tuner.pkl without its connection; it reads the flag again.
    again = pickle.loads(pickle.dumps(stopper))
    assert again._store is None and again.requested()


def test_the_flag_is_read_at_most_once_per_interval(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with TrialStore(url) as store:
        make_study(store)
    stopper = StopRequest(url, "demo", poll_s=3600.0)
    assert not stopper.requested()
    request_stop("demo", url)
    assert not stopper.requested()  # not read again within the hour
    assert StopRequest(url, "demo").requested()
