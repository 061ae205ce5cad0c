"""``sampler: nsga2``: Optuna's NSGA-II over several objectives (the space's ``objectives:``),
for example accuracy against the activation's cost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from afsearch.domains import Where
from afsearch.search._sampled import SampledStrategy

if TYPE_CHECKING:
    from afsearch.space import SearchSpace


class NSGA2(SampledStrategy):
    name = "nsga2"
    description = "Optuna's NSGA-II over several objectives"
    multi_objective = True

    @classmethod
    def sampler_class(cls) -> type:
        from afsearch.search._optuna_seams import PicklableNSGAII

        return PicklableNSGAII

    @classmethod
    def check(cls, space: SearchSpace) -> None:
        where = Where(space.source)
        if len(space.objectives) < 2:
            raise where.at("objectives").error(
                "sampler 'nsga2' needs a list of at least two {metric: NAME, mode: max|min} "
                "objectives, for example accuracy and seconds per epoch.",
            )
        if space.scheduler != "none":
            raise where.at("scheduler").error(
                "must be 'none' with sampler 'nsga2' (ASHA stops trials "
                "on one metric, NSGA-II ranks several).",
            )
        super().check(space)
