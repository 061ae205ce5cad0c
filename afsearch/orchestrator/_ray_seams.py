"""Every use of Ray Tune's private attributes, in one place.

afsearch drives Optuna through Ray Tune's ``OptunaSearch`` (define-by-run, ask/tell, its state
saved with the experiment), and needs four of its private members: the Optuna trial of each
Tune trial (to tell a repeated proposal the original's result, or to keep it waiting), the
Optuna study (to tell a trial that never ran), the set of trials already told, and the
define-by-run function (afsearch's proposer). It also wraps ``_setup_study`` so that opening
the study waits for a database that is restarting. Tested with Ray 2.60;
``tests/orchestrator/test_ray_seams.py`` fails loudly when a release moves any of them.
"""

from __future__ import annotations

from typing import Any

from ray.tune.search.optuna import OptunaSearch

#: The Ray releases this module was checked against (major.minor).
TESTED_WITH = ("2.60",)
#: The private members of ``OptunaSearch`` read here.
PRIVATE_MEMBERS = ("_ot_trials", "_ot_study", "_completed_trials", "_space", "_setup_study")


class OptunaSearchSeams(OptunaSearch):
    """``OptunaSearch`` with its private state behind named properties."""

    @property
    def pending(self) -> dict[str, Any]:
        """Tune trial id -> the Optuna trial asked for it, until it is told."""
        return self._ot_trials

    @property
    def optuna_study(self) -> Any:
        return self._ot_study

    @property
    def told(self) -> set[str]:
        """Tune trial ids whose Optuna trial has been told its result."""
        return self._completed_trials

    @property
    def proposer(self) -> Any:
        """The define-by-run function the searcher was built with."""
        return self._space

    def open_study(self, mode: str | list) -> None:
        """Ray's own study set-up (load or create)."""
        super()._setup_study(mode)

    def _setup_study(self, mode: str | list) -> None:
        from afsearch.orchestrator._optuna import retry_optuna

        # Loads the study (load_if_exists): safe to call again after a lost connection.
        retry_optuna(self.open_study, mode)
