"""Strategies that are an Optuna sampler over the whole space: define-by-run, every choice of
the space (family, its values, the task values) is an Optuna parameter."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

from afsearch.exceptions import AfsearchError, choices
from afsearch.search._base import BaseStrategy, History, Proposal

#: Options afsearch sets itself, which a space may not pass.
_SET_BY_AFSEARCH = ("seed", "warn_independent_sampling", "self")


class SampledStrategy(BaseStrategy):
    """The trial's sampler draws the activation and the task values (``sample_config``);
    ``sampler_options`` are the keyword arguments of :meth:`sampler_class`."""

    #: Keyword arguments afsearch passes besides the seed.
    fixed_options: ClassVar[Mapping[str, Any]] = {}

    @classmethod
    def sampler_class(cls) -> type:
        raise NotImplementedError

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        names = inspect.signature(cls.sampler_class()).parameters
        return tuple(n for n in names if n not in _SET_BY_AFSEARCH and not n.startswith("_"))

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        if not options:  # nothing to check, and no Optuna to import
            return
        valid = cls.option_names()
        if not valid:  # a sampler that takes nothing but its seed
            super().check_options(options)
            return
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise AfsearchError(
                f"sampler {cls.name!r} has no option {unknown[0]!r}; its options are "
                f"{choices(valid)}."
            )

    def sampler(self, seed: int) -> Any:
        try:
            return self.sampler_class()(
                seed=seed, **self.fixed_options, **dict(self.space.sampler_options)
            )
        except TypeError as exc:
            raise AfsearchError(
                f"sampler_options do not fit sampler {self.name!r}: {exc}."
            ) from None

    def propose(self, trial: Any, history: History) -> Proposal:
        from afsearch.space import sample_config

        activation, task_values = sample_config(trial, self.space)
        return Proposal(activation, task_values)
