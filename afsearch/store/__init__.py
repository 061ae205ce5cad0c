"""The trial database: every study, activation, trial and epoch metric of afsearch.

SQLite by default (``afsearch.db`` in the working directory, or ``$AFSEARCH_DB``), PostgreSQL
or any SQLAlchemy URL otherwise. Tables are prefixed ``afs_`` so the Optuna study can share the
database. The driver writes through :class:`TrialStore`; everyone reads through
:func:`studies`, :func:`get_study`, :func:`trials`, :func:`trial`, :func:`epochs` and
:func:`trials_frame`.
"""

from afsearch.store._confirm import ConfirmRunRecord, VerdictRecord
from afsearch.store._confirm_query import confirm_runs, confirmation, study_best
from afsearch.store._engine import DB_ENV, DEFAULT_FILE, first_line, mask_url, resolve_url
from afsearch.store._models import BEST_STATUSES, StudyStatus, TrialStatus
from afsearch.store._query import (
    epochs,
    get_study,
    reader,
    studies,
    trial,
    trials,
    trials_frame,
)
from afsearch.store._records import (
    ActivationRecord,
    EpochRecord,
    StudyRecord,
    StudySummary,
    TrialRecord,
)
from afsearch.store._session import DRIVER_RETRIES, is_transient, retry_transient
from afsearch.store._study_admin import (
    StudyChange,
    check_launch_name,
    copy_study,
    delete_study,
    optuna_study_name,
    rename_study,
)
from afsearch.store._study_stop import request_stop, stop_requested
from afsearch.store._trial_store import TrialStore

__all__ = [
    "BEST_STATUSES",
    "DB_ENV",
    "DEFAULT_FILE",
    "DRIVER_RETRIES",
    "ActivationRecord",
    "ConfirmRunRecord",
    "EpochRecord",
    "StudyChange",
    "StudyRecord",
    "StudyStatus",
    "StudySummary",
    "TrialRecord",
    "TrialStatus",
    "TrialStore",
    "VerdictRecord",
    "check_launch_name",
    "confirm_runs",
    "confirmation",
    "copy_study",
    "delete_study",
    "epochs",
    "first_line",
    "get_study",
    "is_transient",
    "mask_url",
    "optuna_study_name",
    "reader",
    "rename_study",
    "request_stop",
    "resolve_url",
    "retry_transient",
    "stop_requested",
    "studies",
    "study_best",
    "trial",
    "trials",
    "trials_frame",
]
