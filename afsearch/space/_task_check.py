"""What a space asks of its task, checked before a launch: the metric it names is one the task
reports, a training function's metric is named at all, and the task accepts the families'
candidates (a PINN refuses functions with kinks)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from afsearch.domains import Where
from afsearch.exceptions import AfsearchError, choices
from afsearch.space._space import SearchSpace
from afsearch.trial.report import ACTIVATION_COST, ACTIVATION_MEMORY

#: What every trial reports besides its task's metrics; objectives may name them.
TRIAL_METRICS = (ACTIVATION_COST, ACTIVATION_MEMORY, "epoch_seconds")


def check_task(where: Where, space: SearchSpace, task: Any) -> None:
    """Fill the space's metric and mode from the task, and check what the space names."""
    from afsearch.tasks import FunctionTask

    if isinstance(task, FunctionTask):
        if space.metric is None or space.mode is None:
            missing = "metric" if space.metric is None else "mode"
            raise where.at(missing).error(
                f"task {space.task!r} is a training function, so the space names the metric it "
                "reports and whether higher or lower is better, e.g. 'metric: val_accuracy' and "
                "'mode: max'."
            )
        return
    if space.metric is None:
        space.metric = task.metric
    if space.mode is None:
        space.mode = task.mode
    known = reported_metrics(task)
    if known is None:
        return
    named = [("metric", space.metric)] + [
        (f"objectives[{i}].metric", m) for i, (m, _) in enumerate(space.objectives)
    ]
    for key, metric in named:
        if metric not in known and metric not in TRIAL_METRICS:
            raise where.at(key).error(_unknown_metric(space.task, str(metric), known))


def reported_metrics(task: Any) -> set[str] | None:
    """The metrics a :class:`~afsearch.tasks.BaseTask` reports every epoch through the shared
    loop, or ``None`` where that cannot be known without training."""
    from afsearch.tasks import BaseTask

    names = {"train_loss", "val_loss", task.metric}
    if task.problem == "classification":
        names.add("val_accuracy")
    if type(task).loss_metrics is BaseTask.loss_metrics:
        return names  # no metric derived from the loss: no torch needed to know
    import torch

    try:  # a user's loss_metrics may expect targets of its own shape
        names.update(task.loss_metrics("val", 1.0, torch.ones(4, 1)))
    except Exception:
        return None
    return names


def _unknown_metric(task: str, metric: str, known: set[str]) -> str:
    close = difflib.get_close_matches(metric, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return f"task {task!r} reports no metric {metric!r}; it reports {choices(sorted(known))}{hint}"


def check_candidates(where: Where, space: SearchSpace, task: Any, built: Sequence[Any]) -> None:
    """Refuse a family whose every probed candidate the task refuses (a PINN and ``relu``):
    every trial of it would fail."""
    if not task.derivatives:
        return
    for i, (label, candidates) in enumerate(built):
        reasons = []
        for candidate in candidates:
            try:
                task.check_candidate(candidate)
            except AfsearchError as exc:
                reasons.append(str(exc))
            else:
                break
        else:
            if reasons:
                raise (
                    where.at("families")
                    .at(f"[{i}]")
                    .error(
                        f"every candidate of family {label!r} that validation built is refused, so "
                        f"every trial of it would fail: {reasons[0]}"
                    )
                )
