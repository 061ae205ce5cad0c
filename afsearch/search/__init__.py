"""Search strategies: what a study trains next, behind one interface and a registry.

Each strategy (the space's ``sampler:``) is a :class:`BaseStrategy` in a module of its own,
registered by name in ``_registry``; the prescreen wraps any of them. The strategies need no
Ray: ``afsearch launch`` drives them through Ray Tune, :func:`run_local` in this process, and
:func:`replay` on a table of trained functions, as look-ups (docs/TABLE.md).
Names are imported when first used (PEP 562), so ``import afsearch.search`` loads neither Ray
nor Optuna, torch or scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from afsearch._lazy import lazy_surface

if TYPE_CHECKING:
    from afsearch.search._base import BaseStrategy, History, Proposal
    from afsearch.search._budget import PATIENCE, DistinctBudget
    from afsearch.search._drafts import Draft
    from afsearch.search._evolution import Evolution
    from afsearch.search._evolution_options import EvolutionOptions
    from afsearch.search._history import Scored, scored_trials
    from afsearch.search._init_signal import SIGNALS, InitProbe
    from afsearch.search._local import LocalProposal, LocalRun, LocalTrial, run_local
    from afsearch.search._prescreen import Prescreen, PrescreenPool
    from afsearch.search._prescreened import Prescreened
    from afsearch.search._registry import (
        STRATEGIES,
        check_space,
        get_strategy,
        make_strategy,
        register,
        strategy_names,
    )
    from afsearch.search._replay import (
        ReplayAsha,
        ReplayRun,
        ReplayTable,
        ReplayTrial,
        epochs_until,
        reached,
        regret,
        replay,
        replay_space,
    )
    from afsearch.search._site_evolution import SiteEvolution
    from afsearch.search._surrogate import fit_predict, normal_scores
    from afsearch.search._table import (
        TABLE_COLUMNS,
        init_signal,
        output_features,
        read_table,
        write_table,
    )

#: Public name -> the private module that defines it.
_HOMES = {
    "BaseStrategy": "_base",
    "History": "_base",
    "Proposal": "_base",
    "PATIENCE": "_budget",
    "DistinctBudget": "_budget",
    "Draft": "_drafts",
    "Evolution": "_evolution",
    "EvolutionOptions": "_evolution_options",
    "Scored": "_history",
    "scored_trials": "_history",
    "SIGNALS": "_init_signal",
    "InitProbe": "_init_signal",
    "LocalProposal": "_local",
    "LocalRun": "_local",
    "LocalTrial": "_local",
    "run_local": "_local",
    "Prescreen": "_prescreen",
    "PrescreenPool": "_prescreen",
    "fit_predict": "_surrogate",
    "normal_scores": "_surrogate",
    "Prescreened": "_prescreened",
    "ReplayAsha": "_replay",
    "ReplayRun": "_replay",
    "ReplayTable": "_replay",
    "ReplayTrial": "_replay",
    "epochs_until": "_replay",
    "reached": "_replay",
    "regret": "_replay",
    "replay": "_replay",
    "replay_space": "_replay",
    "STRATEGIES": "_registry",
    "check_space": "_registry",
    "get_strategy": "_registry",
    "make_strategy": "_registry",
    "register": "_registry",
    "strategy_names": "_registry",
    "SiteEvolution": "_site_evolution",
    "TABLE_COLUMNS": "_table",
    "init_signal": "_table",
    "output_features": "_table",
    "read_table": "_table",
    "write_table": "_table",
}

__all__ = [
    "PATIENCE",
    "SIGNALS",
    "STRATEGIES",
    "TABLE_COLUMNS",
    "BaseStrategy",
    "DistinctBudget",
    "Draft",
    "Evolution",
    "EvolutionOptions",
    "History",
    "InitProbe",
    "LocalProposal",
    "LocalRun",
    "LocalTrial",
    "Prescreen",
    "PrescreenPool",
    "Prescreened",
    "Proposal",
    "ReplayAsha",
    "ReplayRun",
    "ReplayTable",
    "ReplayTrial",
    "Scored",
    "SiteEvolution",
    "check_space",
    "epochs_until",
    "fit_predict",
    "get_strategy",
    "init_signal",
    "make_strategy",
    "normal_scores",
    "output_features",
    "reached",
    "read_table",
    "register",
    "regret",
    "replay",
    "replay_space",
    "run_local",
    "scored_trials",
    "strategy_names",
    "write_table",
]

__getattr__, __dir__ = lazy_surface(__name__, _HOMES)
