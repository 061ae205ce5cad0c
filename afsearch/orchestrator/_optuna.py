"""Ray Tune's OptunaSearch as afsearch needs it: patient with the database, truthful to Optuna
about how each trial ended, and able to continue a study whose driver died."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from ray.tune.search import Searcher

from afsearch.exceptions import AfsearchError
from afsearch.orchestrator._ray_seams import OptunaSearchSeams
from afsearch.orchestrator._stop import StopRequest
from afsearch.search import DistinctBudget
from afsearch.store import TrialRecord, TrialStatus
from afsearch.trial import TrialSpec
from afsearch.trial.attrs import (
    ACTIVATION_ID,
    ENQUEUED,
    EVOLVED,
    EXPRESSION,
    LEARNED,
    REPEATS,
    REPLACES,
)
from afsearch.trial.report import DIVERGED, EPOCH, classify
from afsearch.trial.report import LEARNED as LEARNED_REPORT

#: How long an Optuna connection waits for a lock another process holds (the store's value).
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: How an afsearch trial's status reads in Optuna.
_OPTUNA_STATE = {
    TrialStatus.COMPLETED: "COMPLETE",
    TrialStatus.DUPLICATE: "COMPLETE",
    TrialStatus.PRUNED: "PRUNED",
    TrialStatus.DIVERGED: "FAIL",
    TrialStatus.FAILED: "FAIL",
}

#: How long Optuna calls keep retrying while the database is unreachable (a restart, a
#: fail-over): the study waits for the database instead of failing, as the store's writes do.
DB_RETRY_SECONDS = 70.0


def retry_optuna(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, called again while the database it uses is unreachable.

    A database that stays away longer than :data:`DB_RETRY_SECONDS` ends the call with an
    :class:`AfsearchError` naming the cause; errors that are not about the connection propagate.
    """
    from afsearch.store import first_line, is_transient, retry_transient

    try:
        return retry_transient(
            functools.partial(fn, *args, **kwargs),
            retries=None,
            delay_s=0.2,
            max_delay_s=2.0,
            deadline_s=DB_RETRY_SECONDS,
        )
    except Exception as exc:
        # Optuna wraps a lost connection in StorageInternalError; the classifier follows the
        # chain of causes down to the driver's error. Other causes propagate as they are.
        if not is_transient(exc):
            raise
        cause: BaseException = exc
        while cause.__cause__ is not None:
            cause = cause.__cause__
        reason = first_line(getattr(cause, "orig", None) or cause)
        raise AfsearchError(
            f"The database stayed unavailable for {DB_RETRY_SECONDS:g} s: {reason}."
        ) from exc


class AfsearchOptunaSearch(OptunaSearchSeams):
    """OptunaSearch that tells Optuna the truth about how each trial ended.

    Ray's OptunaSearch tells a trial stopped early by ASHA as COMPLETE with its partial value;
    here it becomes PRUNED (its intermediate values were reported), and a diverged or timed-out
    trial becomes FAIL, so the sampler learns from finished trials only.

    With a :class:`DistinctBudget`, a proposal of a function the study has (or is training) gets
    no trial: Optuna is told what the original got, and the sampler draws again.
    """

    def __init__(
        self,
        *args: Any,
        budget: DistinctBudget | None = None,
        stop: StopRequest | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._budget = budget
        self._stop = stop
        # Epochs told to Optuna as intermediate values, per Tune trial.
        self._reported: dict[str, set[int]] = {}

    # Ray's annotation omits Searcher.FINISHED (a str), which its docs say to return.
    def suggest(self, trial_id: str) -> dict | str | None:  # type: ignore[override]
        if self._stop is not None and self._stop.requested():
            return Searcher.FINISHED  # afsearch stop: the running trials end, no new one starts
        budget = self._budget
        if budget is None:
            config = retry_optuna(super().suggest, trial_id)
            if isinstance(config, dict):
                self._describe(trial_id, TrialSpec.of_config(config))
            return config
        if budget.trials_left <= 0 or budget.stop_reason:
            return Searcher.FINISHED
        for _ in range(budget.patience):
            config = retry_optuna(super().suggest, trial_id)
            if not isinstance(config, dict):
                return config
            spec = TrialSpec.of_config(config)
            key = spec.dedup_key
            if key in budget.live:
                # Training right now: this proposal learns the original's result when it ends.
                budget.waiting.setdefault(key, []).append(self.pending.pop(trial_id))
                self._avoided()
                continue
            known = self.proposer.known(key)
            if known is not None:
                self._tell_known(self.pending.pop(trial_id), known)
                self._avoided()
                continue
            budget.start(trial_id, key, trains=spec.reuse is None)
            self._describe(trial_id, spec)
            return config
        proposer = self.proposer
        reason = budget.exhausted(proposer.distinct(budget.live))
        proposer.record_progress(budget.duplicates_avoided, reason)
        self.pending.pop(trial_id, None)
        return Searcher.FINISHED

    def _describe(self, trial_id: str, spec: TrialSpec) -> None:
        """What the dashboard shows of a trial beside its parameters."""
        ot_trial = self.pending[trial_id]
        retry_optuna(ot_trial.set_user_attr, EXPRESSION, spec.expression)
        retry_optuna(ot_trial.set_user_attr, ACTIVATION_ID, spec.activation_id)

    def _report(self, trial_id: str, result: dict) -> None:
        """One epoch's metric as Optuna's intermediate value at that epoch, once."""
        if isinstance(self.metric, list) or result.get(DIVERGED):
            return
        value, step = result.get(self.metric), result.get(EPOCH, result.get("training_iteration"))
        if not isinstance(value, (int, float)) or not math.isfinite(value) or step is None:
            return
        done = self._reported.setdefault(trial_id, set())
        if int(step) in done:
            return
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            retry_optuna(self.pending[trial_id].report, float(value), int(step))
        done.add(int(step))

    def _avoided(self) -> None:
        budget = self._budget
        assert budget is not None
        budget.duplicates_avoided += 1
        self.proposer.record_progress(budget.duplicates_avoided)

    def _tell_known(self, ot_trial: Any, known: TrialRecord) -> None:
        """Tell Optuna that a proposal repeats the study's trial ``known``."""
        retry_optuna(ot_trial.set_user_attr, REPEATS, known.number)
        state = getattr(optuna.trial.TrialState, _OPTUNA_STATE[known.status])
        value = known.metric_value
        if state == optuna.trial.TrialState.COMPLETE and value is None:
            state = optuna.trial.TrialState.FAIL
        if isinstance(self.metric, list) and state == optuna.trial.TrialState.COMPLETE:
            # The stored value is the first objective's; the others are not kept per trial.
            state = optuna.trial.TrialState.FAIL
        self._tell(ot_trial, value, state)

    def _tell(self, ot_trial: Any, value: Any, state: Any) -> None:
        # Already told (after a resume), or a value Optuna refuses (NaN): the first stands.
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError, ValueError):
            retry_optuna(
                self.optuna_study.tell,
                ot_trial,
                value if state == optuna.trial.TrialState.COMPLETE else None,
                state=state,
            )

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        # The database calls below (tell) retry a lost connection themselves.
        if trial_id in self.told or trial_id not in self.pending:
            return
        TrialState = optuna.trial.TrialState
        value: Any = None
        if result:
            if isinstance(self.metric, list):
                value = [result.get(m) for m in self.metric]
                value = None if any(v is None for v in value) else value
            else:
                value = result.get(self.metric)
        ended = classify(result)[0] if result else None
        if ended in (TrialStatus.DIVERGED, TrialStatus.FAILED):
            state = TrialState.FAIL
        elif ended == TrialStatus.INTERRUPTED:
            # Stopped by afsearch stop: a resume enqueues it again (prepare_resume).
            state = TrialState.FAIL
        elif ended == TrialStatus.PRUNED and not isinstance(self.metric, list):
            state = TrialState.PRUNED
        elif value is None:
            state = TrialState.FAIL if error else TrialState.PRUNED
        else:
            state = TrialState.COMPLETE
        if result:
            # Tune hands the last epoch to on_trial_complete, never to on_trial_result.
            self._report(trial_id, result)
            learned = _learned_means(result.get(LEARNED_REPORT))
            if learned:
                retry_optuna(self.pending[trial_id].set_user_attr, LEARNED, learned)
        self._reported.pop(trial_id, None)
        self._tell(self.pending[trial_id], value, state)
        self.told.add(trial_id)
        if self._budget is not None:
            for waiting in self._budget.end(trial_id):
                self._tell(waiting, value, state)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self.told or trial_id not in self.pending:
            return
        self._report(trial_id, result)


def _learned_means(text: Any) -> dict[str, float]:
    """The mean learned value of each trainable parameter, from a report's JSON text."""
    try:
        means = json.loads(text).get("mean", {}) if text else {}
    except (TypeError, ValueError, AttributeError):
        return {}
    return {str(k): float(v) for k, v in means.items() if isinstance(v, (int, float))}


def prepare_resume(study: Any, interrupted: list[Any]) -> None:
    """Make the Optuna study ready to continue after the driver died or was stopped.

    Optuna's heartbeat does not cover ask/tell, so trials the dead driver left RUNNING stay so
    forever (optuna#3215): they are failed here. Each interrupted afsearch trial is enqueued
    again with its parameters and the id of its row, so it runs again under the same number,
    with the same activation: one that is no Optuna parameter (the enqueue list's, or what
    evolution or the prescreen proposed) goes with it as its user attribute.
    """
    from optuna.trial import TrialState

    by_number = {t.number: t for t in retry_optuna(study.get_trials, deepcopy=False)}
    for t in by_number.values():
        if t.state == TrialState.RUNNING:
            # A retry may find the first attempt applied.
            retry_optuna(study.tell, t.number, state=TrialState.FAIL, skip_if_finished=True)
    for row in interrupted:
        number = (row.config or {}).get("optuna_trial")
        source = by_number.get(number) if number is not None else None
        if source is None:
            continue
        retry_optuna(
            study.enqueue_trial,
            dict(source.params),
            user_attrs={REPLACES: row.id}
            | {k: v for k, v in source.user_attrs.items() if k in (ENQUEUED, EVOLVED)},
            skip_if_exists=False,
        )


def enqueue_activations(study: Any, configs: Sequence[Mapping[str, Any]]) -> None:
    """Put a new study's ``enqueue`` configs first, in order, as Optuna's ``enqueue_trial``:
    each waits in the study (optuna-dashboard shows it) until the searcher asks for a trial,
    and the proposer trains its activation with task values the sampler draws."""
    for config in configs:
        # Without parameters every enqueued trial looks alike to skip_if_exists.
        retry_optuna(
            study.enqueue_trial, {}, user_attrs={ENQUEUED: dict(config)}, skip_if_exists=False
        )


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")  # as the store's connections
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def quick_sqlite_commits(engine: Any) -> None:
    """Optuna's SQLite connections commit as the store's do: ``synchronous = NORMAL`` in WAL
    mode, which survives a killed process and makes a commit
    about 6 ms faster here (no fsync); the driver commits a few times per trial (ask, the
    activation's attributes, each epoch's intermediate value, tell), between one trial's end and
    the next one's start. Also waits for a lock as the store does."""
    from sqlalchemy import event

    event.listen(engine, "connect", _sqlite_pragmas)
    # Connections RDBStorage opened while it set up come back with the settings.
    engine.dispose()


def open_optuna_study(url: str, optuna_name: str, goals: list[tuple[str, str]]) -> tuple[Any, Any]:
    """The Optuna study ``optuna_name`` at ``url`` and its storage, created or loaded, with one
    direction per ``(metric, mode)`` goal."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Pinged before use like the store's connections: a restarted server is reconnected instead
    # of failing the next call.
    optuna_storage = retry_optuna(
        optuna.storages.RDBStorage,
        url,
        engine_kwargs={} if url.startswith("sqlite") else {"pool_pre_ping": True},
    )
    if url.startswith("sqlite"):
        quick_sqlite_commits(optuna_storage.engine)
    directions = ["maximize" if mode == "max" else "minimize" for _, mode in goals]
    ot_study = retry_optuna(
        optuna.create_study,
        storage=optuna_storage,
        study_name=optuna_name,
        directions=directions,
        load_if_exists=True,
    )
    if [d.name.lower() for d in retry_optuna(lambda: ot_study.directions)] != directions:
        raise AfsearchError(
            f"The Optuna study {optuna_name!r} exists with other directions; choose another "
            "--study name."
        )
    with warnings.catch_warnings():  # set_metric_names is marked experimental
        warnings.simplefilter("ignore")
        retry_optuna(ot_study.set_metric_names, [metric for metric, _ in goals])
    return ot_study, optuna_storage
