"""Several proposals of an Optuna sampler for one trial, for the prescreen to rank.

A :class:`Draft` is a suggester (``suggest_float``, ``suggest_int``, ``suggest_categorical``)
that asks the trial's sampler for each value as :meth:`optuna.trial.Trial` would, through
``sample_independent`` (values the sampler drew for the whole trial, CMA-ES's or multivariate
TPE's relative parameters, are taken as they are), but records nothing in the study. Each draft
is one more draw of the sampler's own proposal distribution (TPE's best of its candidates under
l(x)/g(x), the random sampler's uniform draw). :func:`afsearch.search._optuna_seams.fix_params` then
makes the trial suggest the chosen draft's values, through the fixed parameters Optuna's
``enqueue_trial`` uses, so the sampler learns from what was trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)


class Draft:
    """A suggester that draws from ``trial``'s sampler without recording the values."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial
        self.study = trial.study
        self.frozen = next(
            t for t in self.study.get_trials(deepcopy=False) if t.number == trial.number
        )
        self.params: dict[str, Any] = {}

    def _draw(self, name: str, distribution: BaseDistribution, single: Any) -> Any:
        if single is not None:
            value = single
        elif name in self.trial.relative_params:
            value = self.trial.relative_params[name]
        else:
            value = self.study.sampler.sample_independent(
                self.study, self.frozen, name, distribution
            )
        self.params[name] = value
        return value

    def suggest_float(
        self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None
    ) -> float:
        dist = FloatDistribution(low, high, log=log, step=step)
        return float(self._draw(name, dist, low if low == high else None))

    def suggest_int(
        self, name: str, low: int, high: int, *, log: bool = False, step: int = 1
    ) -> int:
        dist = IntDistribution(low, high, log=log, step=step)
        return int(self._draw(name, dist, low if low == high else None))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        dist = CategoricalDistribution(list(choices))
        return self._draw(name, dist, choices[0] if len(choices) == 1 else None)
