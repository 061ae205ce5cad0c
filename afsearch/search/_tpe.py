"""``sampler: tpe``: Optuna's Tree-structured Parzen Estimator over the whole space."""

from __future__ import annotations

from afsearch.search._sampled import SampledStrategy


class TPE(SampledStrategy):
    name = "tpe"
    description = "Optuna's TPE over every choice of the space (the default)"

    @classmethod
    def sampler_class(cls) -> type:
        import optuna

        return optuna.samplers.TPESampler
