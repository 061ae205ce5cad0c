"""The driver's side of ``afsearch stop``: notice the request, let each running trial end its
current epoch, propose nothing more.

:class:`StopRequest` is a Ray Tune ``Stopper``: Tune asks it after every epoch a trial reports,
and a trial it stops ends right there, at an epoch's end, with :data:`STOPPED` in its last result
(so the store marks it interrupted and Optuna is told it failed; ``launch --resume`` runs it again
under its number, from its checkpoint). The searcher asks it before each proposal. The database
is read at most once every ``poll_s`` seconds.
"""

from __future__ import annotations

import time
from typing import Any

from ray.tune.stopper import Stopper

from afsearch.trial.report import STOPPED

#: Seconds between two reads of the study's stop flag.
POLL_S = 1.0


class StopRequest(Stopper):
    """Whether ``afsearch stop`` asked the study to end (picklable: it reconnects lazily)."""

    def __init__(self, url: str, study: str, poll_s: float = POLL_S) -> None:
        self.url, self.study, self.poll_s = url, study, poll_s
        self._requested = False
        self._checked = float("-inf")
        self._store: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_store": None}

    def requested(self) -> bool:
        """Whether a stop was asked (once asked, always)."""
        now = time.monotonic()
        if not self._requested and now - self._checked >= self.poll_s:
            from afsearch.store import DRIVER_RETRIES, TrialStore, stop_requested

            if self._store is None:
                self._store = TrialStore(self.url, retries=DRIVER_RETRIES, wait=True)
            self._requested = stop_requested(self.study, self._store)
            self._checked = now
        return self._requested

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        if not self.requested():
            return False
        # Tune hands this same dict on as the trial's last result.
        result[STOPPED] = 1
        return True

    def stop_all(self) -> bool:
        # Running trials end at their next epoch's end (__call__); none is cut mid-epoch.
        return False
