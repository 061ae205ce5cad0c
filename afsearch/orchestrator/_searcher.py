"""Turning a search space into Optuna suggestions inside Ray Tune."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
from typing import Any

import optuna
import sympy
from ray.tune.search.optuna import OptunaSearch

from afsearch.activations import build
from afsearch.compiler import activation_id
from afsearch.exceptions import AfsearchError
from afsearch.orchestrator._callback import classify
from afsearch.space import SearchSpace, grid_configs, sample_config, task_settings

#: Optuna user attribute of an enqueued trial that runs an interrupted one again.
REPLACES = "afsearch_replaces"


def dedup_key(activation_id: str, task: str, settings: Any, seeds: int, seed: int) -> str:
    """Two trials with this key train the same function the same way."""
    blob = json.dumps(
        {
            "a": activation_id,
            "t": task,
            "s": dataclasses.asdict(settings),
            "n": seeds,
            "seed": seed,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class DefineByRun:
    """The define-by-run function OptunaSearch calls on the driver for each new trial.

    It samples a candidate, computes its activation id and dedup key, and looks in the store for
    a finished trial with the same key, whose result the trial then replays instead of training.
    Picklable: the store is opened lazily and dropped with ``__getstate__``.
    """

    def __init__(
        self, space: SearchSpace, url: str, *, seed: int, cpus_per_trial: float, reuse: bool = True
    ) -> None:
        self.space, self.url, self.seed = space, url, seed
        self.cpus_per_trial = cpus_per_trial
        self.reuse = reuse
        self._store: Any = None
        self._grid = list(grid_configs(space)) if space.sampler == "grid" else None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_store": None}

    @property
    def store(self) -> Any:
        if self._store is None:
            from afsearch.store import DRIVER_RETRIES, TrialStore

            self._store = TrialStore(self.url, retries=DRIVER_RETRIES, wait=True)
        return self._store

    def __call__(self, trial: Any) -> dict[str, Any]:
        if self._grid is not None:
            index = trial.suggest_categorical("candidate", list(range(len(self._grid))))
            activation, task_values = self._grid[index]
        else:
            activation, task_values = sample_config(trial, self.space)
        settings = task_settings(self.space, task_values)
        candidate = build(activation)
        aid = activation_id(candidate)
        key = dedup_key(aid, self.space.task, settings, self.space.seeds, self.seed)
        spec: dict[str, Any] = {
            "activation": activation,
            "candidate": {
                "id": aid,
                "expression": candidate.text,
                "srepr": sympy.srepr(candidate.expr),
                "latex": sympy.latex(candidate.expr),
                "family": candidate.family,
                "params": {
                    n: {"value": p.value, "trainable": p.trainable}
                    for n, p in candidate.params.items()
                },
            },
            "task": self.space.task,
            "settings": dataclasses.asdict(settings),
            "seeds": self.space.seeds,
            "seed": self.seed,
            "metric": self.space.metric,
            "mode": self.space.mode,
            "dedup_key": key,
            "cpus_per_trial": self.cpus_per_trial,
            "trial_timeout_s": self.space.trial_timeout_s,
        }
        spec["optuna_trial"] = getattr(trial, "number", None)
        replaces = (getattr(trial, "user_attrs", None) or {}).get(REPLACES)
        spec["replaces"] = replaces
        spec["checkpoint_every"] = self.space.checkpoint_every
        spec["checkpoint_min_seconds"] = self.space.checkpoint_min_seconds
        spec["resume_from"] = self._checkpoint_of(replaces)
        if self.reuse:
            spec["reuse"] = self._reusable(key)
        return {"afsearch": spec}

    def _checkpoint_of(self, replaces: int | None) -> dict[str, Any] | None:
        """Where the interrupted trial ``replaces`` left its training state, if anywhere."""
        if replaces is None or not self.space.checkpoint_every:
            return None
        from afsearch.store import trial

        row = trial(int(replaces), self.store)
        if not row.checkpoint or not row.checkpoint_epoch:
            return None
        return {"location": row.checkpoint, "epoch": row.checkpoint_epoch}

    def _reusable(self, key: str) -> dict[str, Any] | None:
        from afsearch.store import epochs

        found = self.store.find_reusable(key)
        if found is None:
            return None
        rows = [e.metrics for e in epochs(found.id, self.store)]
        if not rows:
            return None
        return {"trial_id": found.id, "epochs": rows, "learned_params": found.learned_params}


#: How long Optuna calls keep retrying while the database is unreachable (a restart, a
#: fail-over): the study waits for the database instead of failing, as the store's writes do.
DB_RETRY_SECONDS = 70.0


def _retrying(fn: Any, *args: Any, **kwargs: Any) -> Any:
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


class AfsearchOptunaSearch(OptunaSearch):
    """OptunaSearch that tells Optuna the truth about how each trial ended.

    Ray's OptunaSearch tells a trial stopped early by ASHA as COMPLETE with its partial value;
    here it becomes PRUNED (its intermediate values were reported), and a diverged or timed-out
    trial becomes FAIL, so the sampler learns from finished trials only.
    """

    def _setup_study(self, mode: str | list) -> None:
        # Loads the study (load_if_exists): safe to call again after a lost connection.
        _retrying(super()._setup_study, mode)

    def suggest(self, trial_id: str) -> dict | None:
        return _retrying(super().suggest, trial_id)

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        # The one database call below (tell) retries a lost connection itself.
        if trial_id in self._completed_trials or trial_id not in self._ot_trials:
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
        if ended in ("diverged", "failed"):
            state = TrialState.FAIL
        elif ended == "pruned" and not isinstance(self.metric, list):
            state = TrialState.PRUNED
        elif value is None:
            state = TrialState.FAIL if error else TrialState.PRUNED
        else:
            state = TrialState.COMPLETE
        # Already told (after a resume), or a value Optuna refuses (NaN): the first stands.
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError, ValueError):
            _retrying(
                self._ot_study.tell,  # type: ignore[attr-defined]
                self._ot_trials[trial_id],
                value if state == TrialState.COMPLETE else None,
                state=state,
            )
        self._completed_trials.add(trial_id)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        # After a resume, a trial may already be finished in the (shared) Optuna storage.
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            _retrying(super().on_trial_result, trial_id, result)


def prepare_resume(study: Any, interrupted: list[Any]) -> None:
    """Make the Optuna study ready to continue after the driver died or was stopped.

    Optuna's heartbeat does not cover ask/tell, so trials the dead driver left RUNNING stay so
    forever (optuna#3215): they are failed here. Each interrupted afsearch trial is enqueued
    again with its parameters and the id of its row, so it runs again under the same number.
    """
    from optuna.trial import TrialState

    by_number = {t.number: t for t in _retrying(study.get_trials, deepcopy=False)}
    storage = study._storage
    for t in by_number.values():
        if t.state == TrialState.RUNNING:
            # A retry may find the first attempt applied.
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                _retrying(storage.set_trial_state_values, t._trial_id, TrialState.FAIL)
    for row in interrupted:
        number = (row.config or {}).get("optuna_trial")
        source = by_number.get(number) if number is not None else None
        if source is None:
            continue
        _retrying(
            study.enqueue_trial,
            dict(source.params),
            user_attrs={REPLACES: row.id},
            skip_if_exists=False,
        )


class _GridSampler(optuna.samplers.GridSampler):
    """GridSampler without its stop-when-exhausted hook.

    That hook calls ``Study.stop()``, which only works inside ``Study.optimize``; under ask/tell
    it raises before the trial's state is saved. Ray's ``num_samples`` (set to the grid size)
    ends the study instead.
    """

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        return None


def make_sampler(space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
    opts = dict(space.sampler_options)
    try:
        if space.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=seed, **opts)
        if space.sampler == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False, **opts)
        if space.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if space.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, **opts)
        if space.sampler == "grid":
            n = sum(1 for _ in grid_configs(space))
            return _GridSampler({"candidate": list(range(n))}, seed=seed)
    except TypeError as exc:
        raise AfsearchError(
            f"sampler_options do not fit sampler {space.sampler!r}: {exc}."
        ) from None
    raise AfsearchError(f"Unknown sampler {space.sampler!r}.")
