"""The Ray Tune objects of a launch: the searcher (Optuna's sampler behind afsearch's proposer,
the distinct-function budget and a concurrency limit) and the Tuner with its scheduler, store
callback and stop condition (stage 3 of :func:`afsearch.orchestrator.launch`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from afsearch.search import DistinctBudget
from afsearch.space import SearchSpace
from afsearch.store import StudyRecord, TrialStore, optuna_study_name
from afsearch.trial import BaseRunLogger, LaunchObserver


@dataclass(frozen=True)
class TrialResources:
    """What each trial asks of Ray, and how many run at once."""

    cpus_per_trial: float
    gpus_per_trial: float
    max_concurrent: int


def make_searcher(
    space: SearchSpace,
    url: str,
    name: str,
    seed: int,
    ot_study: Any,
    optuna_storage: Any,
    resources: TrialResources,
    reuse: bool,
    budget: DistinctBudget | None,
) -> Any:
    from ray.tune.search import ConcurrencyLimiter

    from afsearch.orchestrator._optuna import AfsearchOptunaSearch, retry_optuna
    from afsearch.orchestrator._proposer import TrialProposer
    from afsearch.orchestrator._stop import StopRequest

    drawn = len(retry_optuna(ot_study.get_trials, deepcopy=False))
    metrics = [metric for metric, _ in space.goals]
    modes = [mode for _, mode in space.goals]
    proposer = TrialProposer(
        space, url, seed=seed, cpus_per_trial=resources.cpus_per_trial, reuse=reuse, study=name
    )
    searcher = AfsearchOptunaSearch(
        space=proposer,
        metric=metrics if space.objectives else metrics[0],
        mode=modes if space.objectives else modes[0],
        # A resumed study draws new numbers: the same seed would repeat the first draws.
        sampler=proposer.strategy.sampler(seed + drawn),
        study_name=optuna_study_name(name),
        storage=optuna_storage,
        seed=seed,
        budget=budget,
        stop=StopRequest(url, name),
    )
    return ConcurrencyLimiter(searcher, max_concurrent=resources.max_concurrent)


def make_tuner(
    space: SearchSpace,
    store: TrialStore,
    name: str,
    *,
    seed: int,
    existing: StudyRecord | None,
    resources: TrialResources,
    remaining: int,
    searcher: Any,
    runs: str,
    run_name: str,
    observer: LaunchObserver,
    progress: tuple[int, int],
    loggers: list[BaseRunLogger] | None = None,
) -> Any:
    from ray import tune

    from afsearch.orchestrator._callback import StoreCallback
    from afsearch.orchestrator._progress import ObserverCallback
    from afsearch.orchestrator._scheduler import make_scheduler
    from afsearch.orchestrator._stop import StopRequest
    from afsearch.orchestrator._trainable import train_candidate

    metric, mode = space.objective_metric, space.objective_mode
    objectives = [m for m, _ in space.objectives] if space.objectives else []
    writer = StoreCallback(store.url, name, metric, mode, objectives)
    callbacks: list[Any] = [writer]
    if type(observer) is not LaunchObserver:  # the default hears nothing: no callback, no reads
        # After the writer: every trial the observer's callback names has its number.
        total, done = progress
        callbacks.append(ObserverCallback(observer, writer, metric, mode, total, done))
    if loggers:
        from afsearch.orchestrator._run_logs import RunLogCallback

        callbacks.append(RunLogCallback(loggers, writer, name, observer))
    trainable = tune.with_resources(
        train_candidate, {"cpu": resources.cpus_per_trial, "gpu": resources.gpus_per_trial}
    )
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=make_scheduler(space, store, name, resumed=existing is not None),
            num_samples=remaining,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=run_name,
            storage_path=f"{runs}/{name}",
            callbacks=callbacks,
            # afsearch stop: each running trial ends at its epoch's end, marked interrupted.
            stop=StopRequest(store.url, name),
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=space.max_failures),
            # The newest checkpoint of a trial is the one a retry or a resume continues from.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
        ),
    )
