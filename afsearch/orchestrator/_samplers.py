"""The Optuna sampler a search space names."""

from __future__ import annotations

from typing import Any

import optuna

from afsearch.exceptions import AfsearchError
from afsearch.space import SearchSpace, grid_configs


class _GridSampler(optuna.samplers.GridSampler):
    """GridSampler without its stop-when-exhausted hook.

    That hook calls ``Study.stop()``, which only works inside ``Study.optimize``; under ask/tell
    it raises before the trial's state is saved. Ray's ``num_samples`` (set to the grid size)
    ends the study instead.
    """

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        return None


class _NSGAIISampler(optuna.samplers.NSGAIISampler):
    """NSGAIISampler that pickles: Ray Tune saves its searcher with the experiment's state, and
    Optuna's sampler holds a thread lock (made again on unpickling)."""

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_thread_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import threading

        self.__dict__.update(state)
        self._thread_lock = threading.Lock()


def make_sampler(space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
    opts = dict(space.sampler_options)
    try:
        if space.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=seed, **opts)
        if space.sampler == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False, **opts)
        if space.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if space.sampler == "evolution":
            # The proposer evolves the activation itself; Optuna draws the task values.
            return optuna.samplers.RandomSampler(seed=seed)
        if space.sampler == "nsga2":
            return _NSGAIISampler(seed=seed, **opts)
        if space.sampler == "grid":
            n = sum(1 for _ in grid_configs(space))
            return _GridSampler({"candidate": list(range(n))}, seed=seed)
    except TypeError as exc:
        raise AfsearchError(
            f"sampler_options do not fit sampler {space.sampler!r}: {exc}."
        ) from None
    raise AfsearchError(f"Unknown sampler {space.sampler!r}.")
