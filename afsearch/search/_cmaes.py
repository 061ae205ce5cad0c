"""``sampler: cmaes``: Optuna's CMA-ES over the continuous values (categorical and conditional
ones are drawn independently, i.e. at random)."""

from __future__ import annotations

from afsearch.search._sampled import SampledStrategy


class CMAES(SampledStrategy):
    name = "cmaes"
    description = "Optuna's CMA-ES, for one family with continuous values"
    fixed_options = {"warn_independent_sampling": False}

    @classmethod
    def sampler_class(cls) -> type:
        import optuna

        return optuna.samplers.CmaEsSampler
