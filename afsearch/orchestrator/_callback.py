"""The driver-side Tune callback that is the single writer of the trial database."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ray.tune import Callback

from afsearch.store import TrialStatus
from afsearch.trial import TrialSpec
from afsearch.trial.report import (
    DEVICE,
    DIVERGED,
    EPOCH,
    LEARNED,
    NODE,
    classify,
    epoch_metrics,
)

FLUSH_ROWS = 256
FLUSH_SECONDS = 1.0


def _error_text(trial: Any) -> str:
    path = getattr(trial, "error_file", None)
    try:
        if path and Path(path).exists():
            text = Path(path).read_text(errors="replace").strip()
            lines = [ln for ln in text.splitlines() if ln.strip()]
            return "\n".join(lines[-6:])[-2000:]
    except OSError:
        pass
    return str(getattr(trial, "error_msg", None) or "the trial failed")


class StoreCallback(Callback):
    """Writes every trial and epoch to the trial database from the driver.

    Epoch rows are buffered and written in batches (every ``FLUSH_ROWS`` rows or
    ``FLUSH_SECONDS``), and always before a trial's final status, so the callback keeps Tune's
    event loop fast. The engine is created lazily and dropped when pickled (Tune pickles its
    callbacks into the experiment state, and restores them on resume).
    """

    def __init__(
        self, url: str, study: str, metric: str, mode: str, objectives: Sequence[str] = ()
    ) -> None:
        self.url, self.study, self.metric, self.mode = url, study, metric, mode
        #: A multi-objective study's metrics, in order: each trial stores every one's value.
        self.objectives = list(objectives)
        self._store: Any = None
        self._rows: dict[str, int] = {}
        self._buffer: dict[int, list[tuple[int, dict[str, Any], float | None]]] = {}
        # Metric per epoch of each running trial (a re-reported epoch replaces its value, as in
        # the database), so finishing a trial needs no read-back.
        self._history: dict[int, dict[int, float]] = {}
        self._last_flush = time.monotonic()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_store"] = None
        state["_buffer"] = {}
        return state

    @property
    def store(self) -> Any:
        if self._store is None:
            from afsearch.store import DRIVER_RETRIES, TrialStore

            self._store = TrialStore(self.url, retries=DRIVER_RETRIES, wait=True)
        return self._store

    def _row(self, trial: Any) -> int:
        if trial.trial_id not in self._rows:
            self._start(trial)
        return self._rows[trial.trial_id]

    def _start(self, trial: Any) -> None:
        spec = TrialSpec.of_config(trial.config)
        act = spec.candidate
        self.store.upsert_activation(
            spec.activation_id,
            expression=act["expression"],
            srepr=act["srepr"],
            latex=act["latex"],
            family=act["family"],
            params=act["params"],
        )
        # A trial run again from its checkpoint keeps the epochs the checkpoint covers.
        kept = spec.resume_from.epoch if spec.resume_from else 0
        row = self.store.start_trial(
            self.study,
            tune_trial_id=trial.trial_id,
            config=spec.stored(),
            activation_id=spec.activation_id,
            dedup_key=spec.dedup_key,
            node=None,
            # One number per trial: Optuna's (a trial run again keeps the row it replaces).
            preferred_number=spec.optuna_trial,
            replaces=spec.replaces,
            keep_epochs=kept,
        )
        self._rows[trial.trial_id] = row
        if kept and row not in self._history:
            from afsearch.store import epochs

            self._history[row] = {
                e.epoch: e.metric_value
                for e in epochs(row, self.store)
                if e.metric_value is not None
            }

    def number(self, trial: Any) -> int:
        """The trial's number in the study (Optuna's), as the database holds it."""
        from afsearch.store import trial as stored

        return stored(self._row(trial), self.store).number

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._start(trial)

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        row = self._row(trial)
        metric_value = None if result.get(DIVERGED) else _finite(result.get(self.metric))
        epoch = int(result.get(EPOCH, result.get("training_iteration", 0)))
        self._buffer.setdefault(row, []).append((epoch, epoch_metrics(result), metric_value))
        history = self._history.setdefault(row, {})
        if metric_value is None:
            history.pop(epoch, None)
        else:
            history[epoch] = metric_value
        pending = sum(len(v) for v in self._buffer.values())
        if pending >= FLUSH_ROWS or time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self, checkpoints: list[tuple[int, str, int]] | None = None) -> None:
        rows = [(row, *item) for row, items in self._buffer.items() for item in items]
        if rows or checkpoints:
            self.store.record_epochs_many(rows, checkpoints or ())
        self._buffer = {}
        self._last_flush = time.monotonic()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        row = self._row(trial)
        self.flush()
        result = trial.last_result or {}
        status, error, dup = classify(result)
        history = self._history.pop(row, {})
        failed = status in (TrialStatus.DIVERGED, TrialStatus.FAILED)
        value = None if failed else _finite(result.get(self.metric))
        best_epoch = None
        if history:
            pick = max if self.mode == "max" else min
            best_epoch = pick(history, key=lambda e: history[e])
        values = None
        if self.objectives and not failed:
            values = [_finite(result.get(m)) for m in self.objectives]
        learned = None
        if result.get(LEARNED):
            try:
                learned = json.loads(result[LEARNED])
            except (TypeError, ValueError):
                learned = None
        self.store.finish_trial(
            row,
            status=status,
            metric_value=value,
            best_epoch=best_epoch,
            learned_params=learned,
            error=error,
            duplicate_of=dup,
            values=values,
            **_where(result),
        )

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        row = self._row(trial)
        self.flush()
        self._history.pop(row, None)
        self.store.finish_trial(
            row,
            status=TrialStatus.FAILED,
            error=_error_text(trial),
            **_where(trial.last_result or {}),
        )

    def on_checkpoint(
        self, iteration: int, trials: list, trial: Any, checkpoint: Any, **info: Any
    ) -> None:
        epoch = int((checkpoint.get_metadata() or {}).get("epoch") or 0)
        if epoch:
            # Written at once with the epochs buffered so far: the database never points at a
            # checkpoint whose epochs it lacks, nor lags behind the one checkpoint Ray keeps.
            self.flush([(self._row(trial), _location(checkpoint), epoch)])

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.flush()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.flush()


def _where(result: dict[str, Any]) -> dict[str, str]:
    """The node and the device a trial's last result says it ran on (what it names)."""
    node = result.get(NODE) or result.get("node_ip")
    where = {"node": str(node)} if node else {}
    if result.get(DEVICE):
        where["device"] = str(result[DEVICE])
    return where


def _location(checkpoint: Any) -> str:
    """A checkpoint's path, as a URI where it is not on a local file system (``s3://...``)."""
    kind = getattr(checkpoint.filesystem, "type_name", "local")
    return str(checkpoint.path) if kind == "local" else f"{kind}://{checkpoint.path}"


def _finite(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None
