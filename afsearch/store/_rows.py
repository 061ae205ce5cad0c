"""Row look-ups and argument checks shared by the writes of ``TrialStore`` and the query API.

Each look-up raises an :class:`~afsearch.exceptions.AfsearchError` that names what is missing
and the (masked) database it was looked for in; an unknown study name suggests existing ones.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from afsearch.exceptions import AfsearchError, choices
from afsearch.store._models import ActivationModel, StudyModel, TrialModel

E = TypeVar("E", bound=enum.Enum)

MODES = ("max", "min")
# Names shown when a study name is unknown.
_MAX_SUGGESTIONS = 5


def utc_now() -> datetime:
    """The current time in UTC, as every timestamp of the store is kept."""
    return datetime.now(timezone.utc)


# -- studies -----------------------------------------------------------------------------------


def study_row(session: Session, name: str, url_masked: str) -> StudyModel:
    """The study ``name``, or an :class:`AfsearchError` that suggests existing names."""
    row = session.scalar(select(StudyModel).where(StudyModel.name == name))
    if row is not None:
        return row
    names = list(session.scalars(select(StudyModel.name).order_by(StudyModel.id)))
    raise unknown_study(name, names, url_masked)


def unknown_study(name: str, names: Sequence[str], url_masked: str) -> AfsearchError:
    head = f"No study named {name!r} in the database '{url_masked}'"
    if not names:
        return AfsearchError(f"{head}; it has no afsearch studies yet.")
    needle = str(name).lower()
    close = [n for n in names if needle and needle in n.lower()]
    close += difflib.get_close_matches(str(name), names, n=_MAX_SUGGESTIONS, cutoff=0.6)
    close = list(dict.fromkeys(close))[:_MAX_SUGGESTIONS]
    if close:
        return AfsearchError(f"{head}; did you mean {_listing(close)}?")
    shown = list(names[:_MAX_SUGGESTIONS])
    more = f" (and {len(names) - len(shown)} more)" if len(names) > len(shown) else ""
    return AfsearchError(f"{head}; existing studies are {_listing(shown)}{more}.")


def _listing(names: Sequence[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def study_exists(name: str, url_masked: str) -> AfsearchError:
    return AfsearchError(
        f"A study named {name!r} already exists in the database '{url_masked}'; resume it or "
        "choose another name."
    )


def check_study_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AfsearchError(f"Study name must be a non-empty string, got {name!r}.")
    if len(name) > 255:
        raise AfsearchError(f"Study name must be at most 255 characters, got {len(name)}.")
    return name


def check_mode(mode: Any) -> str:
    if not isinstance(mode, str) or mode.strip().lower() not in MODES:
        raise AfsearchError(f"mode {mode!r} is not valid; use {choices(MODES)}.")
    return mode.strip().lower()


def coerce_enum(enum_cls: type[E], value: Any, argument: str) -> E:
    """``value`` (a member or its string, any case) as a member of ``enum_cls``."""
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        for member in enum_cls:
            if member.value == value.strip().lower():
                return member
    raise AfsearchError(
        f"{argument} {value!r} is not a valid {enum_cls.__name__}; use "
        f"{choices(m.value for m in enum_cls)}."
    )


# -- trials and activations --------------------------------------------------------------------


def trial_row(session: Session, trial_id: int, url_masked: str) -> TrialModel:
    """The trial with id ``trial_id``, or an :class:`AfsearchError` saying there is none."""
    row = session.get(TrialModel, trial_id)
    if row is None:
        raise no_trial(trial_id, url_masked)
    return row


def no_trial(trial_id: int, url_masked: str) -> AfsearchError:
    return AfsearchError(f"No trial with id {trial_id!r} in the database '{url_masked}'.")


def require_activation(session: Session, activation_id: str) -> None:
    if session.get(ActivationModel, activation_id) is None:
        raise AfsearchError(
            f"activation_id {activation_id!r} is not in the store; record it with "
            "upsert_activation before starting the trial."
        )
