"""The protocol of a confirmation: which split judges, learning rates tuned for every arm alike,
and extra recipes the winners are judged under again.

- **Split.** Runs are judged on the test split by default (``test_accuracy`` for a task whose
  metric is ``val_accuracy``); both splits' values are stored with every run.
- **Tuned arms.** With ``lr_grid: [0.3, 1.0, 3.0]`` every arm, candidate and baseline alike,
  trains with each factor of the task's learning rate on ``tuning_seeds`` seeds of its own
  (neither the search's nor the judging ones) and keeps the factor with the best mean on the
  *validation* split; only then is it trained on the judging seeds. A function with another
  slope at the origin changes the effective learning rate: without this, a "winner" may be
  GELU at a better learning rate (Schmidt et al. 2021 tune every optimizer alike).
- **Recipes.** Each winner and the best baseline are trained again under each extra recipe (for
  example SGD at another batch size), judged on the same split.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afsearch.confirm._seeds import SeedRun
from afsearch.exceptions import AfsearchError

#: Where tuning seeds start: apart from a search's (from its seed up) and the judging seeds
#: (from 10,000 up).
TUNING_SEED_BASE = 20_000
#: Stored kinds of a confirmation's runs beyond the candidates' and baselines'.
TUNING, RECIPE = "tuning", "recipe"


def split_metric(metric: str, split: str) -> str:
    """The name of ``metric`` on ``split``: ``val_accuracy`` on test is ``test_accuracy``."""
    if split == "val":
        return metric
    return "test_" + (metric[4:] if metric.startswith("val_") else metric)


def run_value(run: SeedRun, metric: str, split: str, task: str) -> float | None:
    """The value that judges ``run`` on ``split`` (``None`` when it diverged); a sentence when
    the task reported no such value."""
    if run.diverged:
        return None
    name = split_metric(metric, split)
    value = run.metrics.get(name)
    if value is None:
        hint = "report it on the last epoch, or " if split == "test" else ""
        raise AfsearchError(
            f"The confirmation judges on the {split} split, and task {task!r} reported no "
            f"{name!r} on its last epoch; {hint}set confirm: {{split: val}}."
        )
    return None if not math.isfinite(value) else float(value)


def split_values(run: SeedRun) -> dict[str, Any]:
    """Both splits' metrics of a run's last epoch, as a confirmation run stores them."""
    val = {k: v for k, v in run.metrics.items() if k.startswith("val_") or k == "train_loss"}
    test = {k: v for k, v in run.metrics.items() if k.startswith("test_")}
    return {"val": val, "test": test}


def with_lr_factor(settings: Any, factor: float) -> Any:
    """``settings`` with its learning rate times ``factor``."""
    return settings if factor == 1.0 else dataclasses.replace(settings, lr=settings.lr * factor)


def tuning_arm(arm: str, factor: float) -> str:
    """The stored name of an arm's tuning runs with one factor."""
    return f"{arm}@lr×{factor:g}"


@dataclass(frozen=True)
class Tuned:
    """An arm's choice of learning-rate factor: the mean validation value of each factor."""

    factor: float
    means: dict[float, float | None]


def choose_factor(values: Mapping[float, Sequence[float | None]], mode: str) -> Tuned:
    """The factor with the best mean validation value; a factor with a diverged run is never
    chosen while another has none; ties go to the factor nearest 1."""
    sign = -1.0 if mode == "max" else 1.0
    means: dict[float, float | None] = {}
    for factor, vals in values.items():
        means[factor] = (
            None if not vals or any(v is None for v in vals) else statistics.fmean(vals)  # type: ignore[arg-type]
        )

    def key(factor: float) -> tuple[float, float]:
        mean = means[factor]
        return (math.inf if mean is None else sign * mean, abs(math.log(factor)))

    return Tuned(min(values, key=key), means)


def recipe_settings(settings: Any, recipe: Mapping[str, Any]) -> Any:
    """``settings`` under a recipe: its fields replaced, its options merged."""
    fields = {k: v for k, v in recipe.items() if k not in ("name", "options")}
    options = {**settings.options, **dict(recipe.get("options") or {})}
    return dataclasses.replace(settings, **fields, options=options)
