"""Reading a study's confirmation, and the one rule for a study's best trial.

>>> from afsearch.store import confirmation, study_best
>>> [v.verdict for v in confirmation("demo")]  # doctest: +SKIP
['better', 'tie', 'baseline', 'baseline']
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from afsearch.store._confirm import ConfirmRunRecord, VerdictRecord, run_record, verdict_record
from afsearch.store._models import BEST_STATUSES, ConfirmRunModel, ConfirmVerdictModel, TrialModel
from afsearch.store._query import reader, trial, trials
from afsearch.store._records import TrialRecord
from afsearch.store._rows import study_row, unknown_study
from afsearch.store._trial_store import TrialStore


def confirm_runs(study: str, url: str | TrialStore | None = None) -> list[ConfirmRunRecord]:
    """The confirmation runs ``study`` holds, by kind, arm and seed."""
    with reader(url) as store:
        if not store._has_schema:
            raise unknown_study(study, [], store.url_masked)

        def work(session: Session) -> list[ConfirmRunRecord]:
            st = study_row(session, study, store.url_masked)
            rows = session.scalars(
                select(ConfirmRunModel)
                .where(ConfirmRunModel.study_id == st.id)
                .order_by(ConfirmRunModel.kind, ConfirmRunModel.arm, ConfirmRunModel.seed)
            )
            return [run_record(row, st.name) for row in rows]

        return store._run(work)


def confirmation(study: str, url: str | TrialStore | None = None) -> list[VerdictRecord]:
    """The verdicts of the study's confirmation (empty if it has none): the candidates by rank
    (the confirmed best first), then the baselines, best mean first."""
    with reader(url) as store:
        if not store._has_schema:
            raise unknown_study(study, [], store.url_masked)

        def work(session: Session) -> list[VerdictRecord]:
            st = study_row(session, study, store.url_masked)
            rows = session.execute(
                select(ConfirmVerdictModel, TrialModel.number)
                .outerjoin(TrialModel, ConfirmVerdictModel.trial_id == TrialModel.id)
                .where(ConfirmVerdictModel.study_id == st.id)
            ).all()
            records = [verdict_record(row, st.name, number) for row, number in rows]
            sign = -1.0 if st.mode == "max" else 1.0

            def order(v: VerdictRecord) -> tuple[int, float, str]:
                first = v.rank if v.kind == "candidate" and v.rank is not None else 10**9
                mean = sign * v.mean if v.mean is not None else float("inf")
                return (first if v.kind == "candidate" else 10**9 + 1, mean, v.arm)

            return sorted(records, key=order)

        return store._run(work)


def study_best(study: str, url: str | TrialStore | None = None) -> TrialRecord | None:
    """The study's best trial: the confirmed best when the study has a confirmation, else the
    best metric of the trials in :data:`BEST_STATUSES`; ``None`` when it has neither.

    The one rule for ``export --best``, the head of the leaderboard and ``afsearch studies``.
    """
    with reader(url) as store:
        confirmed = [v for v in confirmation(study, store) if v.is_best and v.trial_id is not None]
        if confirmed:
            return trial(int(confirmed[0].trial_id), store)  # type: ignore[arg-type]
        best = trials(study, store, top=1, status=[s.value for s in BEST_STATUSES])
        return best[0] if best else None
