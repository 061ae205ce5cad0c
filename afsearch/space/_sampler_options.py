"""The ``sampler_options`` of the Optuna samplers, checked when the space is read."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from afsearch.exceptions import AfsearchError, choices

#: Options afsearch sets itself, which a space may not pass.
_SET_BY_AFSEARCH = ("seed", "warn_independent_sampling", "self")


def _keywords(sampler: str) -> tuple[str, ...]:
    import optuna

    cls = {
        "tpe": optuna.samplers.TPESampler,
        "cmaes": optuna.samplers.CmaEsSampler,
        "nsga2": optuna.samplers.NSGAIISampler,
    }[sampler]
    names = inspect.signature(cls).parameters
    return tuple(n for n in names if n not in _SET_BY_AFSEARCH and not n.startswith("_"))


def check_sampler_options(sampler: str, options: Mapping[str, Any]) -> None:
    """Refuse an option the sampler does not take, in one sentence naming the valid ones
    (``evolution`` has :class:`EvolutionOptions`)."""
    if sampler == "evolution" or not options:
        return
    if sampler in ("random", "grid"):
        raise AfsearchError(
            f"sampler {sampler!r} takes no sampler_options, got {sorted(options)[0]!r}; "
            "leave sampler_options out."
        )
    if sampler not in ("tpe", "cmaes", "nsga2"):
        return
    valid = _keywords(sampler)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise AfsearchError(
            f"sampler {sampler!r} has no option {unknown[0]!r}; its options are {choices(valid)}."
        )
