"""``afsearch stop``: a flag in the study's row that its running driver polls.

The request is a time in ``afs_studies.stop_requested_at`` (migration 0006); the driver reads
it (:func:`stop_requested`) as trials report and before it proposes one, lets each running trial
end its current epoch, marks those trials interrupted and ends. ``launch --resume`` continues
the study, and setting it running again clears the flag.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from afsearch.exceptions import AfsearchError
from afsearch.store._models import StudyStatus
from afsearch.store._records import utc
from afsearch.store._rows import study_row, utc_now
from afsearch.store._trial_store import TrialStore


def request_stop(name: str, url: str | TrialStore | None = None) -> datetime:
    """Ask the running study ``name`` to stop; when it was asked (the first request stands).

    An :class:`AfsearchError` when the study is not running.
    """
    store = url if isinstance(url, TrialStore) else TrialStore._open_reader(url)
    try:

        def work(session: Session) -> datetime:
            row = study_row(session, name, store.url_masked)
            if row.status != StudyStatus.RUNNING:
                raise AfsearchError(
                    f"The study {name!r} is {row.status.value}, not running, so there is "
                    f"nothing to stop; continue it with afsearch launch SPACE --study {name} "
                    "--resume."
                )
            if row.stop_requested_at is None:
                row.stop_requested_at = utc_now()
            when = utc(row.stop_requested_at)
            assert when is not None
            return when

        return store._run(work)
    finally:
        if store is not url:
            store.close()


def stop_requested(name: str, url: str | TrialStore | None = None) -> bool:
    """Whether ``afsearch stop`` asked the study ``name`` to stop since it last started."""
    store = url if isinstance(url, TrialStore) else TrialStore._open_reader(url)
    try:
        return store._run(
            lambda s: study_row(s, name, store.url_masked).stop_requested_at is not None
        )
    finally:
        if store is not url:
            store.close()
