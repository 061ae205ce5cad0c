"""Where a study and a trial stand: plain enums, importable without SQLAlchemy (a Ray worker
reports a trial's status and needs nothing else of the store)."""

from __future__ import annotations

import enum


class StudyStatus(str, enum.Enum):
    """Where a study stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class TrialStatus(str, enum.Enum):
    """Where a trial stands; every status but ``running`` is final until a resume."""

    RUNNING = "running"
    COMPLETED = "completed"
    PRUNED = "pruned"
    FAILED = "failed"
    DIVERGED = "diverged"
    DUPLICATE = "duplicate"
    INTERRUPTED = "interrupted"
