"""The strategies by name, imported when first asked for (as Ray Tune's ``SEARCH_ALG_IMPORT``).

Adding a strategy is one module with a :class:`~afsearch.search.BaseStrategy` subclass and one
line here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from afsearch.exceptions import AfsearchError, choices

if TYPE_CHECKING:
    from afsearch.search._base import BaseStrategy
    from afsearch.space import SearchSpace

#: name -> (module, class) of each strategy, in the order ``afsearch validate`` lists them.
STRATEGIES: dict[str, tuple[str, str]] = {
    "tpe": ("afsearch.search._tpe", "TPE"),
    "cmaes": ("afsearch.search._cmaes", "CMAES"),
    "random": ("afsearch.search._random", "Random"),
    "grid": ("afsearch.search._grid", "Grid"),
    "nsga2": ("afsearch.search._nsga2", "NSGA2"),
    "evolution": ("afsearch.search._evolution_strategy", "EvolutionStrategy"),
}


def strategy_names() -> tuple[str, ...]:
    return tuple(STRATEGIES)


def multi_objective_names() -> tuple[str, ...]:
    """The strategies that optimise several objectives."""
    return tuple(n for n in STRATEGIES if get_strategy(n).multi_objective)


def register(name: str, module: str, cls: str) -> None:
    """Register the strategy class ``cls`` of ``module`` under ``name`` (refuses a duplicate)."""
    if name in STRATEGIES:
        raise AfsearchError(f"A strategy named {name!r} is already registered.")
    STRATEGIES[name] = (module, cls)


def get_strategy(name: str) -> type[BaseStrategy]:
    """The strategy class registered as ``name``; an unknown name lists the valid ones."""
    if name not in STRATEGIES:
        raise AfsearchError(f"Unknown sampler {name!r}; valid samplers are {choices(STRATEGIES)}.")
    module, cls = STRATEGIES[name]
    found: type[BaseStrategy] = getattr(importlib.import_module(module), cls)
    return found


def check_space(space: SearchSpace) -> None:
    """Refuse a space its strategy cannot search: an unknown ``sampler``, ``sampler_options``
    the strategy does not take, a key it cannot honour. Errors name the file and the key."""
    from afsearch.domains import Where

    if space.sampler not in STRATEGIES:
        raise (
            Where(space.source)
            .at("sampler")
            .error(f"must be {choices(STRATEGIES)}, got {space.sampler!r}.")
        )
    get_strategy(space.sampler).check(space)


def make_strategy(space: SearchSpace, seed: int) -> BaseStrategy:
    """The strategy of ``space``, wrapped in the prescreen when the space asks for one."""
    strategy = get_strategy(space.sampler).create(space, seed)
    if space.prescreen is not None:
        from afsearch.search._prescreened import Prescreened

        strategy = Prescreened(strategy, space, seed)
    return strategy
