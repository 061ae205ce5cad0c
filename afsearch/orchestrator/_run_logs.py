"""The Tune callback that feeds the space's run loggers (``log:``; afsearch.trial._run_logs).

It runs after the :class:`StoreCallback`, so every trial it names has its number in the study.
The database is the record of a study and the run logs are copies for reading: a logger that
fails is switched off with a notice to the launch's observer, and the study goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ray.tune import Callback

from afsearch.orchestrator._callback import StoreCallback, _error_text, _where
from afsearch.store import TrialStatus
from afsearch.trial import LaunchObserver, TrialSpec
from afsearch.trial._run_logs import (
    BaseRunLogger,
    TrialEnd,
    learned_means,
    logged_metrics,
    logged_trial,
)
from afsearch.trial.report import EPOCH, LEARNED, classify


class RunLogCallback(Callback):
    """Tells each run logger as trials start, report and end (pickled without the observer: a
    resumed experiment gets a new one from :func:`launch`)."""

    def __init__(
        self,
        loggers: list[BaseRunLogger],
        store: StoreCallback,
        study: str,
        observer: LaunchObserver,
    ) -> None:
        self.loggers, self.store, self.study, self.observer = loggers, store, study, observer
        self._numbers: dict[str, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["observer"] = LaunchObserver()
        return state

    def _number(self, trial: Any) -> int:
        if trial.trial_id not in self._numbers:
            self._numbers[trial.trial_id] = self.store.number(trial)
        return self._numbers[trial.trial_id]

    def _each(self, call: Callable[[BaseRunLogger], None]) -> None:
        for logger in list(self.loggers):
            try:
                call(logger)
            except Exception as exc:  # any failure of a logger's library: the study goes on
                self.loggers.remove(logger)
                self.observer.notice(
                    f"log: {logger.name} stopped writing to {logger.location()} "
                    f"({type(exc).__name__}: {exc}); the study goes on without it."
                )

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        logged = logged_trial(self.study, self._number(trial), TrialSpec.of_config(trial.config))
        self._each(lambda logger: logger.start(logged))

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        number, metrics = self._number(trial), logged_metrics(result)
        epoch = int(result.get(EPOCH, result.get("training_iteration", 0)))
        self._each(lambda logger: logger.epoch(number, epoch, metrics))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        status, error, _ = classify(result)
        self._end(trial, status, result, error)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._end(trial, TrialStatus.FAILED, trial.last_result or {}, _error_text(trial))

    def _end(
        self, trial: Any, status: TrialStatus, result: dict[str, Any], error: str | None
    ) -> None:
        number = self._number(trial)
        self._numbers.pop(trial.trial_id, None)
        where = _where(result)
        end = TrialEnd(
            status=status.value,
            epoch=int(result.get(EPOCH, 0) or 0),
            metrics=logged_metrics(result),
            learned=learned_means(result.get(LEARNED)),
            device=where.get("device"),
            node=where.get("node"),
            error=error,
        )
        self._each(lambda logger: logger.finish(number, end))

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self._each(lambda logger: logger.close())
