"""``afsearch stop``'s flag: asked of a running study only, read by the driver, cleared when the
study runs again."""

from __future__ import annotations

import pytest

from afsearch.exceptions import AfsearchError
from afsearch.store import TrialStore, request_stop, stop_requested
from tests.store.helpers import make_study


def test_a_stop_is_asked_once_and_cleared_when_the_study_runs_again(store: TrialStore) -> None:
    make_study(store)
    assert not stop_requested("demo", store)
    first = request_stop("demo", store)
    assert stop_requested("demo", store) and stop_requested("demo", store.url)
    assert request_stop("demo", store.url) == first  # the first request stands
    store.set_study_status("demo", "interrupted", finished=True)
    assert stop_requested("demo", store)  # until the study runs again
    store.set_study_status("demo", "running")
    assert not stop_requested("demo", store)


def test_only_a_running_study_can_be_stopped(store: TrialStore) -> None:
    make_study(store)
    store.set_study_status("demo", "completed", finished=True)
    with pytest.raises(AfsearchError, match="'demo' is completed, not running, so there is"):
        request_stop("demo", store)
    assert not stop_requested("demo", store)
    with pytest.raises(AfsearchError, match="No study named 'nope'"):
        request_stop("nope", store)
