"""Turning a search space into the trials Tune runs: sampled candidates, their identity, reuse."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Iterable
from typing import Any

from afsearch.activations import build_activation, is_per_site, per_site_config
from afsearch.compiler import candidate_record
from afsearch.domains import suggest
from afsearch.orchestrator._drafts import Draft, commit
from afsearch.orchestrator._evolution import Evolution
from afsearch.orchestrator._history import scored_trials
from afsearch.orchestrator._prescreen import Prescreen
from afsearch.orchestrator._site_evolution import SiteEvolution
from afsearch.orchestrator._spec import CONFIG_KEY, Checkpoint, Reuse, TrialSpec
from afsearch.space import (
    EvolutionOptions,
    SearchSpace,
    grid_configs,
    sample_config,
    task_settings,
)

#: Optuna user attribute of an enqueued trial that runs an interrupted one again.
REPLACES = "afsearch_replaces"
#: Optuna user attribute of a proposal that repeated a trial of the study: that trial's number,
#: the one afsearch and Optuna both show.
REPEATS = "afsearch_repeats"
#: Optuna user attribute holding the activation config ``sampler: evolution`` proposed.
EVOLVED = "afsearch_activation"
#: Optuna user attribute of a trial the space's ``enqueue`` list put first: its activation.
ENQUEUED = "afsearch_enqueued"


def dedup_key(activation_id: str, task: str, settings: Any, seeds: int, seed: int) -> str:
    """Two trials with this key train the same function the same way."""
    blob = json.dumps(
        {
            "a": activation_id,
            "t": task,
            "s": dataclasses.asdict(settings),
            "n": seeds,
            "seed": seed,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class TrialProposer:
    """Proposes each new trial of a study: the :class:`TrialSpec` Tune runs.

    Called on the driver with a suggester (Optuna's trial, through Ray's define-by-run search),
    it samples a candidate, computes its activation id and dedup key, and looks in the store for
    a finished trial with the same key, whose result the trial then replays instead of training.
    Picklable: the store is opened lazily and dropped with ``__getstate__``.
    """

    def __init__(
        self,
        space: SearchSpace,
        url: str,
        *,
        seed: int,
        cpus_per_trial: float,
        reuse: bool = True,
        study: str | None = None,
    ) -> None:
        self.space, self.url, self.seed, self.study = space, url, seed, study
        self.cpus_per_trial = cpus_per_trial
        self.reuse = reuse
        self._store: Any = None
        self._grid = list(grid_configs(space)) if space.sampler == "grid" else None
        self._evolution: Evolution | SiteEvolution | None = (
            Evolution(space.families, EvolutionOptions.parse(space.sampler_options))
            if space.sampler == "evolution"
            else None
        )
        if self._evolution is not None and space.per_site:
            self._evolution = SiteEvolution(self._evolution, space.sites)
        self._prescreen = Prescreen(space, seed) if space.prescreen else None
        # What this driver proposed: trials in flight are not rows in the database yet.
        self._proposed: list[dict[str, Any]] = []

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_store": None}

    @property
    def store(self) -> Any:
        if self._store is None:
            from afsearch.store import DRIVER_RETRIES, TrialStore

            self._store = TrialStore(self.url, retries=DRIVER_RETRIES, wait=True)
        return self._store

    def __call__(self, trial: Any) -> dict[str, Any]:
        attrs = getattr(trial, "user_attrs", None) or {}
        enqueued = attrs.get(ENQUEUED)
        replaces = attrs.get(REPLACES)
        evolved = attrs.get(EVOLVED) if replaces is not None else None
        if isinstance(evolved, dict) and not isinstance(enqueued, dict):
            # An interrupted trial runs again: the activation evolution or the prescreen
            # proposed it (its checkpoint and epochs are that activation's), not a new one.
            activation = dict(evolved)
            task_values = self._task_values(trial)
        elif isinstance(enqueued, dict):
            # A warm start from the space's enqueue list; the sampler draws the task values.
            activation = dict(enqueued)
            if self.space.per_site and not is_per_site(activation):
                # An enqueued activation stands at every site.
                activation = per_site_config([activation] * self.space.sites)
            task_values = {
                k: suggest(trial, f"task.{k}", v) for k, v in self.space.task_values.items()
            }
        elif self._grid is not None:
            index = trial.suggest_categorical("candidate", list(range(len(self._grid))))
            activation, task_values = self._grid[index]
        elif self._prescreen is not None and self.space.sampler == "random":
            # The surrogate picks the activation from the pool; the sampler, task values.
            activation = self._prescreened()
            task_values = self._task_values(trial)
            trial.set_user_attr(EVOLVED, activation)
        elif self._prescreen is not None:
            # The sampler proposes several, the surrogate picks the one to train.
            activation, task_values = self._ranked(trial)
        elif self._evolution is not None:
            # The activation evolves; task values come from the Optuna sampler (random).
            activation = self._evolve(getattr(trial, "number", 0))
            task_values = {
                k: suggest(trial, f"task.{k}", v) for k, v in self.space.task_values.items()
            }
            trial.set_user_attr(EVOLVED, activation)
        else:
            activation, task_values = sample_config(trial, self.space)
        settings = task_settings(self.space, task_values)
        record = candidate_record(build_activation(activation))
        key = dedup_key(record["id"], self.space.task, settings, self.space.seeds, self.seed)
        spec = TrialSpec(
            activation=activation,
            candidate=record,
            task=self.space.task,
            settings=settings,
            seeds=self.space.seeds,
            seed=self.seed,
            metric=str(self.space.metric),
            mode=str(self.space.mode),
            dedup_key=key,
            cpus_per_trial=self.cpus_per_trial,
            trial_timeout_s=self.space.trial_timeout_s,
            optuna_trial=getattr(trial, "number", None),
            replaces=replaces,
            checkpoint_every=self.space.checkpoint_every,
            checkpoint_min_seconds=self.space.checkpoint_min_seconds,
            compile=self.space.compile,
            resume_from=self._checkpoint_of(replaces),
            reuse=self._reusable(key) if self.reuse else None,
        )
        return {CONFIG_KEY: spec.to_dict()}

    def _trials(self) -> list[Any]:
        """The study's trials as the database holds them, by number."""
        from afsearch.store import trials

        return sorted(trials(self.study, self.store), key=lambda t: t.number) if self.study else []

    def _evolve(self, number: int) -> dict[str, Any]:
        """The evolution's next config, from the study's trials."""
        assert self._evolution is not None
        rows = self._trials()
        history = scored_trials(rows, str(self.space.objective_mode))
        rng = random.Random(f"{self.seed}:{number}")
        # Optuna numbers every proposal, skipped repeats and trials in flight included.
        return self._evolution.propose(rng, max(number, len(rows)), history)

    def _task_values(self, trial: Any) -> dict[str, Any]:
        return {k: suggest(trial, f"task.{k}", v) for k, v in self.space.task_values.items()}

    def _ranked(self, trial: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The activation and task values of the proposal the prescreen ranks first among
        ``prescreen.proposals`` of the sampler (evolution's children, or Optuna's draws)."""
        assert self._prescreen is not None
        rows = self._trials()
        configs = [t.config["activation"] for t in rows if isinstance(t.config, dict)]
        scored = scored_trials(rows, str(self.space.objective_mode))
        n = self._prescreen.options.proposals
        number = getattr(trial, "number", 0)
        before = self._prescreen.summary()
        tried = configs + self._proposed
        anchor = self._prescreen.anchor(tried)
        if anchor is not None:  # trained first, before anything is ranked
            activation, task_values = anchor, self._task_values(trial)
            trial.set_user_attr(EVOLVED, activation)
        elif self._evolution is not None:
            started = max(number, len(rows))
            children = [
                self._evolution.propose(random.Random(f"{self.seed}:{number}:{k}"), started, scored)
                for k in range(n)
            ]
            activation = children[self._prescreen.rank(children, tried, scored)]
            task_values = self._task_values(trial)
            trial.set_user_attr(EVOLVED, activation)
        else:
            drafts = [Draft(trial) for _ in range(n)]
            proposals = [sample_config(d, self.space)[0] for d in drafts]
            commit(trial, drafts[self._prescreen.rank(proposals, tried, scored)].params)
            activation, task_values = sample_config(trial, self.space)
        self._proposed.append(activation)
        after = self._prescreen.summary()
        if self.study and (after["filtered"] != before["filtered"] or not rows):
            self.store.record_prescreen(self.study, after)
        return activation, task_values

    def _prescreened(self) -> dict[str, Any]:
        """The prescreen's next config, from the study's trials and those proposed here."""
        assert self._prescreen is not None
        before = self._prescreen.summary() if self._prescreen.pool_drawn else None
        rows = self._trials()
        configs = [t.config["activation"] for t in rows if isinstance(t.config, dict)]
        scored = scored_trials(rows, str(self.space.objective_mode))
        choice = self._prescreen.propose(configs + self._proposed, scored)
        self._proposed.append(choice)
        after = self._prescreen.summary()
        if self.study and after != before:
            self.store.record_prescreen(self.study, after)
        return choice

    def known(self, key: str) -> Any:
        """The study's trial that a proposal with dedup key ``key`` repeats, if any."""
        return self.store.find_known(self.study, key) if self.study else None

    def distinct(self, live: Iterable[str] = ()) -> int:
        """Distinct functions the study has trained, or is training (``live`` dedup keys)."""
        from afsearch.store import TrialStatus, trials

        keys = set(live)
        if self.study:
            skip = (TrialStatus.DUPLICATE, TrialStatus.INTERRUPTED)
            rows = trials(self.study, self.store)
            keys |= {t.dedup_key for t in rows if t.status not in skip and t.dedup_key}
        return len(keys)

    def record_progress(self, duplicates_avoided: int, stop_reason: str | None = None) -> None:
        if self.study:
            self.store.record_search_progress(
                self.study, duplicates_avoided=duplicates_avoided, stop_reason=stop_reason
            )

    def _checkpoint_of(self, replaces: int | None) -> Checkpoint | None:
        """Where the interrupted trial ``replaces`` left its training state, if anywhere."""
        if replaces is None or not self.space.checkpoint_every:
            return None
        from afsearch.store import trial

        row = trial(int(replaces), self.store)
        if not row.checkpoint or not row.checkpoint_epoch:
            return None
        return Checkpoint(row.checkpoint, row.checkpoint_epoch)

    def _reusable(self, key: str) -> Reuse | None:
        from afsearch.store import epochs

        found = self.store.find_reusable(key)
        if found is None:
            return None
        rows = [e.metrics for e in epochs(found.id, self.store)]
        if not rows:
            return None
        return Reuse(found.id, tuple(rows), found.learned_params)
