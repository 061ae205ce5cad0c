"""``sampler: random``: uniform draws from the space; with the prescreen, the surrogate chooses
each trial from the prescreen's pool instead."""

from __future__ import annotations

from afsearch.search._sampled import SampledStrategy


class Random(SampledStrategy):
    name = "random"
    description = "uniform draws from the space"
    prescreen_from_pool = True

    @classmethod
    def sampler_class(cls) -> type:
        import optuna

        return optuna.samplers.RandomSampler
