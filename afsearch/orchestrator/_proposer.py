"""Turning a search space into the trials Tune runs: the strategy's proposal, its identity,
reuse of a known result, and the run-again of an interrupted or enqueued trial."""

from __future__ import annotations

from typing import Any

from afsearch.activations import build_activation, is_per_site, per_site_config
from afsearch.compiler import candidate_record
from afsearch.search import History, Proposal, make_strategy, scored_trials
from afsearch.space import SearchSpace, task_settings
from afsearch.trial import CONFIG_KEY, Checkpoint, Reuse, TrialSpec, dedup_key
from afsearch.trial.attrs import ENQUEUED, EVOLVED, REPLACES


class TrialProposer:
    """Proposes each new trial of a study: the :class:`TrialSpec` Tune runs.

    Called on the driver with an Optuna trial (through Ray's define-by-run search), it asks the
    space's strategy (:func:`afsearch.search.make_strategy`) for a candidate, computes its
    activation id and dedup key, and looks in the store for a finished trial with the same key,
    whose result the trial then replays instead of training. Picklable: the store is opened
    lazily and dropped with ``__getstate__``.
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
        self.strategy = make_strategy(space, seed)
        self._store: Any = None
        # What this driver proposed: trials in flight are not rows in the database yet.
        self._proposed: list[dict[str, Any]] = []
        self._recorded: dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_store": None}

    @property
    def store(self) -> Any:
        if self._store is None:
            from afsearch.store import DRIVER_RETRIES, TrialStore

            self._store = TrialStore(self.url, retries=DRIVER_RETRIES, wait=True)
        return self._store

    def __call__(self, trial: Any) -> dict[str, Any]:
        replaces = (getattr(trial, "user_attrs", None) or {}).get(REPLACES)
        proposal = self._again(trial) or self._propose(trial)
        if proposal.remember:
            trial.set_user_attr(EVOLVED, proposal.activation)
        return {CONFIG_KEY: self._spec(proposal, trial, replaces).to_dict()}

    def _again(self, trial: Any) -> Proposal | None:
        """An interrupted trial run again with its own activation (evolution or the prescreen
        proposed it: its checkpoint and epochs are that activation's), or an entry of the
        space's ``enqueue`` list (a warm start; the sampler draws the task values)."""
        attrs = getattr(trial, "user_attrs", None) or {}
        enqueued, evolved = attrs.get(ENQUEUED), attrs.get(EVOLVED)
        if isinstance(enqueued, dict):
            activation = dict(enqueued)
            if self.space.per_site and not is_per_site(activation):
                # An enqueued activation stands at every site.
                activation = per_site_config([activation] * self.space.sites)
            return Proposal(activation, self.strategy.task_values(trial))
        if attrs.get(REPLACES) is not None and isinstance(evolved, dict):
            return Proposal(dict(evolved), self.strategy.task_values(trial))
        return None

    def _propose(self, trial: Any) -> Proposal:
        history = self._history(trial) if self.strategy.uses_history else History()
        proposal = self.strategy.propose(trial, history)
        if self.strategy.uses_history:
            self._proposed.append(proposal.activation)
        summary = self.strategy.summary()
        if self.study and summary is not None and self._changed(summary):
            self.store.record_prescreen(self.study, summary)
            self._recorded = summary
        return proposal

    def _changed(self, summary: dict[str, Any]) -> bool:
        """Whether the strategy's stored state needs writing again: the first time, and when
        what it filtered changed (a count of ranked proposals alone is not worth a write)."""
        last = self._recorded
        return last is None or last.get("filtered") != summary.get("filtered")

    def _history(self, trial: Any) -> History:
        rows = self._trials()
        number = getattr(trial, "number", 0)
        configs = [t.config["activation"] for t in rows if isinstance(t.config, dict)]
        return History(
            number=number,
            # Optuna numbers every proposal, skipped repeats and trials in flight included.
            started=max(number, len(rows)),
            scored=scored_trials(rows, str(self.space.objective_mode)),
            tried=configs + self._proposed,
        )

    def _spec(self, proposal: Proposal, trial: Any, replaces: int | None) -> TrialSpec:
        settings = task_settings(self.space, proposal.task_values)
        record = candidate_record(build_activation(proposal.activation))
        key = dedup_key(record["id"], self.space.task, settings, self.space.seeds, self.seed)
        return TrialSpec(
            activation=proposal.activation,
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

    def _trials(self) -> list[Any]:
        """The study's trials as the database holds them, by number."""
        from afsearch.store import trials

        return sorted(trials(self.study, self.store), key=lambda t: t.number) if self.study else []

    def known(self, key: str) -> Any:
        """The study's trial that a proposal with dedup key ``key`` repeats, if any."""
        return self.store.find_known(self.study, key) if self.study else None

    def distinct(self, live: Any = ()) -> int:
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
