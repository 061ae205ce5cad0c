"""The trial database: every study, activation, trial and epoch metric of afsearch.

SQLite by default (``afsearch.db`` in the working directory, or ``$AFSEARCH_DB``), PostgreSQL
or any SQLAlchemy URL otherwise. Tables are prefixed ``afs_`` so the Optuna study can share the
database. The driver writes through :class:`TrialStore`; everyone reads through
:func:`studies`, :func:`get_study`, :func:`trials`, :func:`trial`, :func:`epochs` and
:func:`trials_frame`.

Names are imported when first used (PEP 562): ``from afsearch.store import DB_ENV`` loads no
SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from afsearch._lazy import lazy_surface

if TYPE_CHECKING:
    from afsearch.store._confirm import (
        ConfirmRunRecord,
        VerdictRecord,
    )
    from afsearch.store._confirm_query import (
        confirm_runs,
        confirmation,
        study_best,
    )
    from afsearch.store._engine import (
        first_line,
        mask_url,
        resolve_url,
    )
    from afsearch.store._models import (
        BEST_STATUSES,
        StudyStatus,
        TrialStatus,
    )
    from afsearch.store._names import (
        DB_ENV,
        DEFAULT_FILE,
    )
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
    from afsearch.store._session import (
        DRIVER_RETRIES,
        is_transient,
        retry_transient,
    )
    from afsearch.store._study_admin import (
        StudyChange,
        check_launch_name,
        copy_study,
        delete_study,
        optuna_study_name,
        rename_study,
    )
    from afsearch.store._study_stop import (
        request_stop,
        stop_requested,
    )
    from afsearch.store._trial_store import (
        TrialStore,
    )

#: Public name -> the module that defines it.
_HOMES = {
    "ActivationRecord": "afsearch.store._records",
    "BEST_STATUSES": "afsearch.store._models",
    "ConfirmRunRecord": "afsearch.store._confirm",
    "DB_ENV": "afsearch.store._names",
    "DEFAULT_FILE": "afsearch.store._names",
    "DRIVER_RETRIES": "afsearch.store._session",
    "EpochRecord": "afsearch.store._records",
    "StudyChange": "afsearch.store._study_admin",
    "StudyRecord": "afsearch.store._records",
    "StudyStatus": "afsearch.store._status",
    "StudySummary": "afsearch.store._records",
    "TrialRecord": "afsearch.store._records",
    "TrialStatus": "afsearch.store._status",
    "TrialStore": "afsearch.store._trial_store",
    "VerdictRecord": "afsearch.store._confirm",
    "check_launch_name": "afsearch.store._study_admin",
    "confirm_runs": "afsearch.store._confirm_query",
    "confirmation": "afsearch.store._confirm_query",
    "copy_study": "afsearch.store._study_admin",
    "delete_study": "afsearch.store._study_admin",
    "epochs": "afsearch.store._query",
    "first_line": "afsearch.store._engine",
    "get_study": "afsearch.store._query",
    "is_transient": "afsearch.store._session",
    "mask_url": "afsearch.store._engine",
    "optuna_study_name": "afsearch.store._study_admin",
    "reader": "afsearch.store._query",
    "rename_study": "afsearch.store._study_admin",
    "request_stop": "afsearch.store._study_stop",
    "resolve_url": "afsearch.store._engine",
    "retry_transient": "afsearch.store._session",
    "stop_requested": "afsearch.store._study_stop",
    "studies": "afsearch.store._query",
    "study_best": "afsearch.store._confirm_query",
    "trial": "afsearch.store._query",
    "trials": "afsearch.store._query",
    "trials_frame": "afsearch.store._query",
}

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

__getattr__, __dir__ = lazy_surface(__name__, _HOMES)
