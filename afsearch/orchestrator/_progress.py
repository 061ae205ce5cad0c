"""The Tune callback that turns trial events into :class:`LaunchObserver` calls on the driver.

It runs after the :class:`StoreCallback`, so every trial it names already has its row and its
number in the study. Done counts what the study's budget counts (trainings, not replays of a
known result); running trials are the ones started and not yet ended, so a finished trial is
never counted as running.
"""

from __future__ import annotations

from typing import Any

from ray.tune import Callback

from afsearch.activations import label
from afsearch.orchestrator._callback import StoreCallback, _finite
from afsearch.store import TrialStatus
from afsearch.trial import (
    Best,
    LaunchObserver,
    TrialFinished,
    TrialReported,
    TrialSpec,
    TrialStarted,
)
from afsearch.trial.report import DIVERGED, EPOCH, classify

#: Statuses whose value counts towards the best so far.
COUNTED = (TrialStatus.COMPLETED, TrialStatus.DUPLICATE, TrialStatus.PRUNED)


class _Running:
    """What the callback remembers of a trial between its start and its end."""

    def __init__(self, number: int, spec: TrialSpec) -> None:
        self.number = number
        self.activation = label(spec.activation, spec.expression, width=60)
        self.epochs = spec.settings.epochs
        self.replays = spec.reuse is not None


class ObserverCallback(Callback):
    """Calls ``observer`` as trials start, report and end (pickled without it: a resumed
    experiment gets a new one from :func:`launch`)."""

    def __init__(
        self,
        observer: LaunchObserver,
        store: StoreCallback,
        metric: str,
        mode: str,
        total: int,
        done: int = 0,
    ) -> None:
        self.observer, self.store = observer, store
        self.metric, self.mode, self.total, self.done = metric, mode, total, done
        self.best: Best | None = None
        self._running: dict[str, _Running] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["observer"] = LaunchObserver()
        state["_running"] = {}
        return state

    def _trial(self, trial: Any) -> _Running:
        if trial.trial_id not in self._running:
            spec = TrialSpec.of_config(trial.config)
            self._running[trial.trial_id] = _Running(self.store.number(trial), spec)
        return self._running[trial.trial_id]

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        known = trial.trial_id in self._running
        running = self._trial(trial)
        if known:
            return
        spec = TrialSpec.of_config(trial.config)
        self.observer.trial_started(
            TrialStarted(
                running.number,
                running.activation,
                spec.expression,
                running.epochs,
                replays=None if spec.reuse is None else spec.reuse.trial_id,
            )
        )

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        running = self._trial(trial)
        value = None if result.get(DIVERGED) else _finite(result.get(self.metric))
        epoch = int(result.get(EPOCH, result.get("training_iteration", 0)))
        self.observer.trial_reported(TrialReported(running.number, epoch, running.epochs, value))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        status, error, _ = classify(result)
        failed = status in (TrialStatus.DIVERGED, TrialStatus.FAILED)
        value = None if failed else _finite(result.get(self.metric))
        self._end(trial, status, value, int(result.get(EPOCH, 0) or 0), error)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        self._end(trial, TrialStatus.FAILED, None, int(result.get(EPOCH, 0) or 0), None)

    def _end(
        self,
        trial: Any,
        status: TrialStatus,
        value: float | None,
        epochs: int,
        error: str | None,
    ) -> None:
        running = self._trial(trial)
        self._running.pop(trial.trial_id, None)
        if status != TrialStatus.DUPLICATE:
            self.done += 1
        if value is not None and status in COUNTED:
            better = self.best is None or (
                value > self.best.value if self.mode == "max" else value < self.best.value
            )
            if better:
                self.best = Best(running.number, value, running.activation)
        self.observer.trial_finished(
            TrialFinished(
                number=running.number,
                activation=running.activation,
                status=status.value,
                value=value,
                epochs=epochs,
                done=min(self.done, self.total),
                total=self.total,
                running=len(self._running),
                best=self.best,
                error=error,
            )
        )
