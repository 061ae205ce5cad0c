"""A study's confirmation in the store: its runs on fresh seeds and its verdicts.

The confirm stage (``afsearch.confirm.confirm_study``) writes one run per candidate or
baseline and seed as each training ends, so a resumed study trains only the runs that are
missing, and then the verdicts, all at once, in place of the ones before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from afsearch.exceptions import AfsearchError, choices
from afsearch.store._connection import StoreConnection
from afsearch.store._models import ConfirmRunModel, ConfirmVerdictModel
from afsearch.store._records import _Record, _utc, finite_or_none, jsonable
from afsearch.store._rows import study_row, utc_now

R = TypeVar("R", bound=_Record)

#: What a confirmation trains: the search's candidates and the standard activations they face,
#: each arm's learning-rate tuning runs, and the winners trained again under other recipes.
KINDS = ("candidate", "baseline", "tuning", "recipe")
#: A candidate's verdict against the best baseline (Holm-corrected p below 0.05, or not), and
#: what a baseline's own row says.
VERDICTS = ("better", "worse", "tie", "baseline")
#: The rank of the confirmed best among a confirmation's candidates: the study's best.
BEST_RANK = 1


@dataclasses.dataclass(frozen=True)
class ConfirmRunRecord(_Record):
    """One training of a confirmation: a candidate (``arm`` its activation id) or a baseline
    (``arm`` its name) on one fresh seed; ``metric_value`` is ``None`` when it diverged."""

    id: int
    study: str
    kind: str
    arm: str
    trial_id: int | None
    seed: int
    metric_value: float | None
    metrics: Any
    diverged: bool
    duration_s: float | None
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class VerdictRecord(_Record):
    """A confirmed result: the mean and sample std of the metric over the fresh seeds and, for a
    candidate, the difference of means with the best baseline (candidate minus baseline), its
    95% interval (Welch-Satterthwaite), Welch's t, its p-value and the Holm-corrected one."""

    study: str
    kind: str
    arm: str
    trial_id: int | None
    trial_number: int | None
    n: int
    mean: float | None
    std: float | None
    baseline: str | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    p_value: float | None
    p_holm: float | None
    verdict: str
    rank: int | None
    options: Any
    created_at: datetime

    @property
    def is_best(self) -> bool:
        """Whether this is the study's confirmed best (``store.study_best``)."""
        return self.kind == "candidate" and self.rank == BEST_RANK


def _from_row(cls: type[R], row: Any, **given: Any) -> R:
    """A record of ``cls`` with the row's column of each field's name, and ``given``."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in given]  # type: ignore[arg-type]
    return cls(**{name: getattr(row, name) for name in names}, **given)


def run_record(row: ConfirmRunModel, study: str) -> ConfirmRunRecord:
    return _from_row(
        ConfirmRunRecord,
        row,
        study=study,
        diverged=bool(row.diverged),
        created_at=_utc(row.created_at),
    )


def verdict_record(row: ConfirmVerdictModel, study: str, number: int | None) -> VerdictRecord:
    return _from_row(
        VerdictRecord, row, study=study, trial_number=number, created_at=_utc(row.created_at)
    )


def _check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise AfsearchError(f"kind of a confirmation must be {choices(KINDS)}, got {kind!r}.")
    return str(kind)


_VERDICT_FLOATS = ("mean", "std", "delta", "ci_low", "ci_high", "t", "p_value", "p_holm")


class ConfirmWrites(StoreConnection):
    """Record a confirmation's runs, one at a time, and its verdicts."""

    def record_confirm_run(
        self,
        study: str,
        *,
        kind: str,
        arm: str,
        seed: int,
        trial_id: int | None = None,
        metric_value: float | None = None,
        metrics: Mapping[str, Any] | None = None,
        diverged: bool = False,
        duration_s: float | None = None,
    ) -> None:
        """Store one confirmation run; the same run stored again replaces the first."""
        kind = _check_kind(kind)

        def work(session: Session) -> None:
            st = study_row(session, study, self.url_masked)
            row = session.scalar(
                select(ConfirmRunModel).where(
                    ConfirmRunModel.study_id == st.id,
                    ConfirmRunModel.kind == kind,
                    ConfirmRunModel.arm == arm,
                    ConfirmRunModel.seed == seed,
                )
            )
            if row is None:
                row = ConfirmRunModel(study_id=st.id, kind=kind, arm=str(arm), seed=int(seed))
                session.add(row)
            row.trial_id = trial_id
            row.metric_value = finite_or_none(metric_value)
            row.metrics = jsonable(dict(metrics or {}))
            row.diverged = bool(diverged)
            row.duration_s = finite_or_none(duration_s)
            row.created_at = utc_now()

        self._run(work)

    def record_verdicts(
        self, study: str, verdicts: Sequence[Mapping[str, Any]], options: Mapping[str, Any]
    ) -> None:
        """Store a confirmation's verdicts in place of the study's earlier ones.

        Each verdict is a mapping of :class:`VerdictRecord`'s stored fields (``kind``, ``arm``,
        ``trial_id``, ``n``, ``mean``, ... ``verdict``, ``rank``) and, optionally, ``extra``:
        what is particular to its row (its learning-rate factor, its recipe), stored in its
        ``options`` beside the ones the confirmation ran with (top, seeds, against).
        """
        rows = []
        for v in verdicts:
            if v.get("verdict") not in VERDICTS:
                raise AfsearchError(
                    f"verdict must be {choices(VERDICTS)}, got {v.get('verdict')!r}."
                )
            rows.append(
                {
                    "kind": _check_kind(v.get("kind")),
                    "arm": str(v["arm"]),
                    "trial_id": v.get("trial_id"),
                    "n": int(v.get("n", 0)),
                    "baseline": v.get("baseline"),
                    "verdict": str(v["verdict"]),
                    "rank": v.get("rank"),
                    **{k: finite_or_none(v.get(k)) for k in _VERDICT_FLOATS},
                    "options": jsonable({**dict(options), **dict(v.get("extra") or {})}),
                }
            )

        def work(session: Session) -> None:
            st = study_row(session, study, self.url_masked)
            session.execute(
                delete(ConfirmVerdictModel).where(ConfirmVerdictModel.study_id == st.id)
            )
            now = utc_now()
            for row in rows:
                session.add(ConfirmVerdictModel(study_id=st.id, created_at=now, **row))

        self._run(work)
