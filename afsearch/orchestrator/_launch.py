"""``afsearch launch``: a Ray Tune Tuner with Optuna samplers over a search space.

:func:`launch` runs its stages in order: apply the caller's overrides to the space and check
them, find or refuse the study, start Ray, create the study or do the resume bookkeeping, open
the Optuna study, build the searcher and the scheduler, run the Tuner, settle the study's
status from what the database holds, and confirm its best on fresh seeds when the space asks
(``confirm:``, :mod:`afsearch.orchestrator._confirm`).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.orchestrator._budget import DistinctBudget
from afsearch.orchestrator._confirm import ConfirmResult, confirm_study
from afsearch.orchestrator._events import LaunchObserver, StudyStarted
from afsearch.orchestrator._optuna import open_optuna_study
from afsearch.orchestrator._ray import default_runs_dir, init_ray, storage_path, task_runtime_env
from afsearch.orchestrator._tuner import TrialResources, make_searcher, make_tuner
from afsearch.space import SearchSpace, load_space, with_overrides
from afsearch.store import (
    DRIVER_RETRIES,
    StudyRecord,
    StudyStatus,
    TrialStatus,
    TrialStore,
    check_launch_name,
    optuna_study_name,
)

#: Statuses of trials that will run again when their study is resumed.
_UNFINISHED = (TrialStatus.RUNNING, TrialStatus.INTERRUPTED)


@dataclass
class LaunchResult:
    study: str
    url: str
    status: StudyStatus
    num_trials: int
    experiment_path: str
    #: Why the study ended before its samples were drawn (its space ran out of new functions).
    stop_reason: str | None = None
    #: The confirm stage's result, when the space asks for one (``confirm:``).
    confirmation: ConfirmResult | None = None


def launch(
    space: SearchSpace | str | Path,
    *,
    study: str | None = None,
    task: str | None = None,
    num_samples: int | None = None,
    url: str | None = None,
    address: str | None = None,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    max_concurrent: int | None = None,
    resume: bool = False,
    seed: int = 0,
    runs_dir: str | Path | None = None,
    num_cpus: int | None = None,
    progress: bool = True,
    reuse: bool = True,
    max_failures: int | None = None,
    trial_timeout_s: float | None = None,
    observer: LaunchObserver | None = None,
) -> LaunchResult:
    """Run (or resume) a study; every trial lands in the database at ``url``.

    ``observer`` is told, on the driver, as Ray starts and as trials start, report and end
    (:class:`LaunchObserver`); the library prints nothing itself (``progress`` is accepted for
    older callers and has no effect).

    >>> launch("search_spaces/quickstart.yaml", study="demo")  # doctest: +SKIP
    """
    store = TrialStore(url, retries=DRIVER_RETRIES)
    url = store.url
    source = None if isinstance(space, SearchSpace) else str(space)
    space = with_overrides(
        space if isinstance(space, SearchSpace) else load_space(space),
        task=task,
        num_samples=num_samples,
        max_failures=max_failures,
        trial_timeout_s=trial_timeout_s,
    )
    if cpus_per_trial <= 0 or gpus_per_trial < 0:
        raise AfsearchError("--cpus-per-trial must be above 0 and --gpus-per-trial at least 0.")
    resources = TrialResources(
        cpus_per_trial, gpus_per_trial, max_concurrent or space.max_concurrent
    )
    name = check_launch_name(study or space.name)
    existing = _existing_study(store, name, resume)
    if existing is not None and num_samples is not None and num_samples > existing.num_samples:
        # Like Optuna's optimize called again: the study runs the extra trials.
        store.extend_study(name, num_samples)
        existing = store.get_study(name)

    runs = storage_path(runs_dir) if runs_dir else default_runs_dir()
    # Each launch (and each resume) is its own Ray experiment; the study spans them. Multi-node
    # runs need shared storage here: NFS, or a URI such as s3://bucket/afsearch_runs.
    run_name = time.strftime("run-%Y%m%d-%H%M%S")
    experiment = f"{runs}/{name}/{run_name}"
    observer = observer or LaunchObserver()
    observer.ray_starting(address)
    ray_start = time.monotonic()
    # Ray first: an unreachable cluster must not leave a study behind in the database.
    started_ray = init_ray(address, num_cpus, None, runtime_env=task_runtime_env(space))
    observer.ray_started(time.monotonic() - ray_start)
    try:
        interrupted, remaining = _open_study(store, name, space, source, seed, existing)
        ot_study, optuna_storage = open_optuna_study(url, optuna_study_name(name), space.goals)
        if interrupted:
            from afsearch.orchestrator._optuna import prepare_resume

            prepare_resume(ot_study, interrupted)
        if existing is None and space.enqueue:
            from afsearch.orchestrator._optuna import enqueue_activations

            enqueue_activations(ot_study, space.enqueue)
        if remaining == 0:
            store.set_study_status(name, StudyStatus.COMPLETED, finished=True)
            confirmed = _confirm(space, store, name, resources, observer)
            return LaunchResult(
                name, store.url_masked, StudyStatus.COMPLETED, 0, experiment, None, confirmed
            )
        total = existing.num_samples if existing else space.num_samples
        observer.study_started(
            StudyStarted(
                name,
                store.url_masked,
                space.objective_metric,
                space.objective_mode,
                total,
                max(0, total - remaining),
                existing is not None,
            )
        )
        budget = (
            DistinctBudget(remaining, existing.duplicates_avoided if existing else 0)
            if reuse
            else None
        )
        tuner = make_tuner(
            space,
            store,
            name,
            seed=seed,
            existing=existing,
            resources=resources,
            # The budget ends the search itself: Tune draws until the searcher says so.
            remaining=-1 if budget else remaining,
            searcher=make_searcher(
                space, url, name, seed, ot_study, optuna_storage, resources, reuse, budget
            ),
            runs=runs,
            run_name=run_name,
            observer=observer,
            progress=(total, max(0, total - remaining)),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grid = tuner.fit()
        status, reason = _settle(store, name, total)
        confirmed = (
            _confirm(space, store, name, resources, observer) if status == "completed" else None
        )
        return LaunchResult(
            name, store.url_masked, status, len(grid), experiment, reason, confirmed
        )
    except KeyboardInterrupt:
        store.set_study_status(name, StudyStatus.INTERRUPTED, finished=True)
        store.mark_interrupted(name)
        raise
    except Exception:
        # The study can be continued with --resume; what ran is kept, what ran no more is marked.
        with contextlib.suppress(Exception):
            store.mark_interrupted(name)
            store.set_study_status(name, StudyStatus.FAILED, finished=True)
        raise
    finally:
        if started_ray:
            import ray

            ray.shutdown()


# ---------------------------------------------------------------------------------------------
# Stage 1: the study it continues (the command line's values: space.with_overrides).


def _existing_study(store: TrialStore, name: str, resume: bool) -> StudyRecord | None:
    """The study ``name`` continues: ``None`` for a new one; refuses the wrong ``resume``."""
    existing = None
    with contextlib.suppress(AfsearchError):
        existing = store.get_study(name)
    if existing is not None and not resume:
        raise AfsearchError(
            f"A study named {name!r} already exists in {store.url_masked}; pass --resume to "
            "continue it or --study to start another."
        )
    if existing is None and resume:
        raise AfsearchError(f"There is no study {name!r} in {store.url_masked} to resume.")
    return existing


# ---------------------------------------------------------------------------------------------
# Stage 2: the study in afsearch's tables (Optuna's: open_optuna_study).


def _open_study(
    store: TrialStore,
    name: str,
    space: SearchSpace,
    source: str | None,
    seed: int,
    existing: StudyRecord | None,
) -> tuple[list[Any], int]:
    """Create the study, or mark what a resume runs again; the interrupted trials and how many
    samples are left to draw."""
    if existing is None:
        store.create_study(
            name,
            space=space.raw,
            space_path=source,
            task=space.task,
            task_settings={k: repr(v) for k, v in space.task_values.items()}
            | {"options": space.task_options},
            metric=space.objective_metric,
            mode=space.objective_mode,
            sampler=space.sampler,
            scheduler=space.scheduler,
            seed=seed,
            num_samples=space.num_samples,
            optuna_study_name=optuna_study_name(name),
        )
        return [], space.num_samples
    # The database is the source of truth: trials it holds as finished stay finished, the ones
    # that were running are marked and run again under their own numbers.
    from afsearch.store import trials

    store.set_study_status(name, StudyStatus.RUNNING)
    store.mark_interrupted(name)
    rows = trials(name, store)
    interrupted = [t for t in rows if t.status == TrialStatus.INTERRUPTED]
    # The budget counts trainings: a replay of another study's result used none.
    trained = [t for t in rows if t.status not in (TrialStatus.INTERRUPTED, TrialStatus.DUPLICATE)]
    if existing.stop_reason:
        return interrupted, len(interrupted)
    return interrupted, max(len(interrupted), existing.num_samples - len(trained))


# ---------------------------------------------------------------------------------------------
# Stage 3, the searcher, the scheduler and the Tuner: afsearch.orchestrator._tuner.
# Stage 4: the study's status, from what the database holds.


def _settle(store: TrialStore, name: str, target: int) -> tuple[StudyStatus, str | None]:
    """Mark what Tune stopped (it returns after Ctrl-C too) and set the study's final status:
    complete when every sample trained, or when the space ran out of new functions."""
    from afsearch.store import trials

    left = store.mark_interrupted(name)
    done = sum(
        t.status not in _UNFINISHED and t.status != TrialStatus.DUPLICATE
        for t in trials(name, store)
    )
    reason = store.get_study(name).stop_reason
    finished = done >= target or reason is not None
    status = StudyStatus.COMPLETED if left == 0 and finished else StudyStatus.INTERRUPTED
    store.set_study_status(name, status, finished=True)
    return status, reason


# ---------------------------------------------------------------------------------------------
# Stage 5: the confirmation (afsearch.orchestrator._confirm), when the space asks for one.


def _confirm(
    space: SearchSpace,
    store: TrialStore,
    name: str,
    resources: TrialResources,
    observer: LaunchObserver,
) -> ConfirmResult | None:
    if space.confirm is None:
        return None
    return confirm_study(
        store,
        name,
        space.confirm,
        cpus_per_trial=resources.cpus_per_trial,
        gpus_per_trial=resources.gpus_per_trial,
        observer=observer,
    )
