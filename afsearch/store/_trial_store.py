"""``TrialStore``: the driver's writer to the trial database.

The driver process is the only writer; Ray workers never touch the database. Every write runs
in one transaction through :func:`~afsearch.store._session.transact`, which retries locks and
lost connections, so every write here is safe to run twice.

The class is put together from its parts: the connection and its lifecycle
(:mod:`~afsearch.store._connection`), study and activation writes
(:mod:`~afsearch.store._study_writes`), and trial and epoch writes
(:mod:`~afsearch.store._trial_writes`), and a study's confirmation
(:mod:`~afsearch.store._confirm`); row look-ups and checks shared with the query API live
in :mod:`~afsearch.store._rows`.
"""

from __future__ import annotations

from afsearch.store._confirm import ConfirmWrites
from afsearch.store._study_writes import StudyWrites
from afsearch.store._trial_writes import EpochRow, TrialWrites

__all__ = ["EpochRow", "TrialStore"]


class TrialStore(StudyWrites, TrialWrites, ConfirmWrites):
    """The trial database of afsearch (SQLite by default, PostgreSQL or any SQLAlchemy URL).

    Opening a store creates or upgrades afsearch's ``afs_*`` tables; Optuna's tables in the
    same database are left alone. The store pickles as its URL and reconnects lazily, so a Ray
    Tune callback may hold one.

    >>> store = TrialStore("sqlite://")  # in memory; give a file or server URL to keep it
    >>> _ = store.create_study("demo", space={}, task="digits", metric="accuracy", mode="max",
    ...                        sampler="tpe", scheduler="asha", num_samples=8)
    >>> tid = store.start_trial("demo", tune_trial_id="a1b2_00000", config={"lr": 0.1})
    >>> store.record_epochs(tid, [(0, {"accuracy": 0.88}, 0.88), (1, {"accuracy": 0.91}, 0.91)])
    >>> store.finish_trial(tid, status="completed", metric_value=0.91, best_epoch=1)
    >>> store.trial_by_tune_id("demo", "a1b2_00000").status.value
    'completed'
    """

    def __repr__(self) -> str:
        return f"TrialStore({self.url_masked!r})"
