"""``afsearch launch``: a Ray Tune Tuner with Optuna samplers over a search space.

:func:`launch` runs its stages in order: apply the caller's overrides to the space and check
them, find or refuse the study, start Ray, create the study or do the resume bookkeeping, open
the Optuna study, build the searcher and the scheduler, run the Tuner, settle the study's
status from what the database holds, and confirm its best on fresh seeds when the space asks
(``confirm:``, :mod:`afsearch.confirm`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afsearch.confirm import ConfirmResult, confirm_study
from afsearch.exceptions import AfsearchError, choices
from afsearch.orchestrator._device import unused_gpus
from afsearch.orchestrator._optuna import (
    enqueue_activations,
    open_optuna_study,
    prepare_resume,
)
from afsearch.orchestrator._parallel import ray_runner
from afsearch.orchestrator._ray import default_runs_dir, init_ray, storage_path, task_runtime_env
from afsearch.orchestrator._tuner import TrialResources, make_searcher, make_tuner
from afsearch.search import DistinctBudget, check_space, get_strategy
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
from afsearch.trial import BaseRunLogger, LaunchObserver, StudyStarted, get_run_logger

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


@dataclass(frozen=True)
class LaunchOptions:
    """How :func:`launch` runs a study: the command line's values over the space's.

    ``None`` leaves the space's own value (task, sample count, CPUs and GPUs per trial, ...);
    ``url`` defaults to ``$AFSEARCH_DB`` and then an SQLite file, ``address`` to a local Ray
    instance with ``num_cpus`` CPUs, ``runs_dir`` to ``$AFSEARCH_RUNS`` or ``./afsearch_runs``.
    Without ``reuse`` every proposal trains, repeats of known functions included. ``log``
    names the run logs written under ``<runs_dir>/<study>`` (``"mlflow"``, ``"tensorboard"``)
    in place of the space's ``log:``.
    """

    study: str | None = None
    task: str | None = None
    num_samples: int | None = None
    url: str | None = None
    address: str | None = None
    cpus_per_trial: float | None = None
    gpus_per_trial: float | None = None
    max_concurrent: int | None = None
    resume: bool = False
    seed: int = 0
    runs_dir: str | Path | None = None
    num_cpus: int | None = None
    reuse: bool = True
    max_failures: int | None = None
    trial_timeout_s: float | None = None
    log: tuple[str, ...] | None = None


def launch(
    space: SearchSpace | str | Path,
    options: LaunchOptions | None = None,
    *,
    observer: LaunchObserver | None = None,
    **settings: Any,
) -> LaunchResult:
    """Run (or resume) a study; every trial lands in the database at ``options.url``.

    ``settings`` are fields of :class:`LaunchOptions`, given one by one instead of (or over)
    ``options``. ``observer`` is told, on the driver, as Ray starts and as trials start,
    report and end (:class:`LaunchObserver`); the library prints nothing itself.

    >>> launch("search_spaces/quickstart.yaml", study="demo")  # doctest: +SKIP
    """
    opts = _options(options, settings)
    space, source = _space_of(space, opts)
    resources = TrialResources(
        space.resources.cpus_per_trial,
        space.resources.gpus_per_trial,
        opts.max_concurrent or space.max_concurrent,
    )
    name = check_launch_name(opts.study or space.name)
    if opts.resume:
        _check_resumable(opts.url, name)
    runs = storage_path(opts.runs_dir) if opts.runs_dir else default_runs_dir()
    loggers = _run_loggers(space, f"{runs}/{name}", name)
    store = TrialStore(opts.url, retries=DRIVER_RETRIES)
    existing = _existing_study(store, name, opts.resume)
    if existing is not None and opts.num_samples is not None:
        existing = _extend(store, existing, opts.num_samples)
    # Each launch (and each resume) is its own Ray experiment; the study spans them. Multi-node
    # runs need shared storage here: NFS, or a URI such as s3://bucket/afsearch_runs.
    run_name = time.strftime("run-%Y%m%d-%H%M%S")
    observer = observer or LaunchObserver()
    # Ray first: an unreachable cluster must not leave a study behind in the database.
    started_ray = _start_ray(space, opts, observer)
    try:
        notice = unused_gpus(resources.gpus_per_trial)
        if notice:
            observer.notice(notice)
        study = _Study(store, name, space, existing, resources, observer, loggers)
        return study.run(source, opts, f"{runs}/{name}/{run_name}", runs, run_name)
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


def _options(options: LaunchOptions | None, settings: dict[str, Any]) -> LaunchOptions:
    known = {f.name for f in dataclasses.fields(LaunchOptions)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise AfsearchError(
            f"launch has no option {unknown[0]!r}; its options are {choices(known)}."
        )
    return dataclasses.replace(options or LaunchOptions(), **settings)


def _space_of(
    space: SearchSpace | str | Path, opts: LaunchOptions
) -> tuple[SearchSpace, str | None]:
    """The space with the caller's values over its own, checked by its strategy; its file."""
    source = None if isinstance(space, SearchSpace) else str(space)
    space = with_overrides(
        space if isinstance(space, SearchSpace) else load_space(space),
        task=opts.task,
        num_samples=opts.num_samples,
        max_failures=opts.max_failures,
        trial_timeout_s=opts.trial_timeout_s,
        cpus_per_trial=opts.cpus_per_trial,
        gpus_per_trial=opts.gpus_per_trial,
        log=opts.log,
    )
    check_space(space)
    limit = get_strategy(space.sampler).num_samples(space)
    if limit < space.num_samples:
        space = dataclasses.replace(space, num_samples=limit)
    return space, source


def _run_loggers(space: SearchSpace, folder: str, study: str) -> list[BaseRunLogger]:
    """The space's run loggers, writing under the study's runs directory ``folder``; each is
    checked (its package installed, its location usable) before anything runs."""
    loggers = [get_run_logger(name)(folder, study) for name in space.log]
    for logger in loggers:
        logger.check()
    return loggers


def _extend(store: TrialStore, existing: StudyRecord, num_samples: int) -> StudyRecord:
    """Like Optuna's optimize called again: a larger sample count runs the extra trials."""
    if num_samples <= existing.num_samples:
        return existing
    store.extend_study(existing.name, num_samples)
    return store.get_study(existing.name)


def _start_ray(space: SearchSpace, opts: LaunchOptions, observer: LaunchObserver) -> bool:
    """Start (or join) Ray with the user's task module shipped to the workers; whether this
    call started it (and so shuts it down)."""
    observer.ray_starting(opts.address)
    began = time.monotonic()
    started = init_ray(opts.address, opts.num_cpus, None, runtime_env=task_runtime_env(space))
    observer.ray_started(time.monotonic() - began)
    return started


class _Study:
    """One launch's study once Ray is up: opened or resumed, searched, settled, confirmed."""

    def __init__(
        self,
        store: TrialStore,
        name: str,
        space: SearchSpace,
        existing: StudyRecord | None,
        resources: TrialResources,
        observer: LaunchObserver,
        loggers: list[BaseRunLogger],
    ) -> None:
        self.store, self.name, self.space = store, name, space
        self.existing, self.resources, self.observer = existing, resources, observer
        self.loggers = loggers

    def run(
        self, source: str | None, opts: LaunchOptions, experiment: str, runs: str, run_name: str
    ) -> LaunchResult:
        store, name, space, existing = self.store, self.name, self.space, self.existing
        interrupted, remaining = _open_study(store, name, space, source, opts.seed, existing)
        ot_study, optuna_storage = open_optuna_study(
            store.url, optuna_study_name(name), space.goals
        )
        if interrupted:
            prepare_resume(ot_study, interrupted)
        if existing is None and space.enqueue:
            enqueue_activations(ot_study, space.enqueue)
        if remaining == 0:
            store.set_study_status(name, StudyStatus.COMPLETED, finished=True)
            return LaunchResult(
                name, store.url_masked, StudyStatus.COMPLETED, 0, experiment, None, self.confirm()
            )
        total = existing.num_samples if existing else space.num_samples
        self.observer.study_started(
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
            if opts.reuse
            else None
        )
        searcher = make_searcher(
            space,
            store.url,
            name,
            opts.seed,
            ot_study,
            optuna_storage,
            self.resources,
            opts.reuse,
            budget,
        )
        tuner = make_tuner(
            space,
            store,
            name,
            seed=opts.seed,
            existing=existing,
            resources=self.resources,
            # The budget ends the search itself: Tune draws until the searcher says so.
            remaining=-1 if budget else remaining,
            searcher=searcher,
            runs=runs,
            run_name=run_name,
            observer=self.observer,
            progress=(total, max(0, total - remaining)),
            loggers=self.loggers,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grid = tuner.fit()
        status, reason = _settle(store, name, total)
        confirmed = self.confirm() if status == "completed" else None
        return LaunchResult(
            name, store.url_masked, status, len(grid), experiment, reason, confirmed
        )

    def confirm(self) -> ConfirmResult | None:
        """Stage 5: the confirmation on Ray, when the space asks for one."""
        if self.space.confirm is None:
            return None
        runner = ray_runner(self.resources.cpus_per_trial, self.resources.gpus_per_trial)
        return confirm_study(
            self.store, self.name, self.space.confirm, runner=runner, observer=self.observer
        )


# ---------------------------------------------------------------------------------------------
# Stage 1: the study it continues (the command line's values: space.with_overrides).


def _check_resumable(url: str | None, name: str) -> None:
    """Refuse to resume a study the database lacks, reading only: no file, no tables made."""
    from afsearch.store import get_study

    try:
        get_study(name, url)
    except AfsearchError as exc:
        reason = str(exc)
        raise AfsearchError(
            f"There is no study {name!r} to resume: {reason[:1].lower()}{reason[1:]}"
        ) from None


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
# Stage 3, the searcher, the scheduler and the Tuner: afsearch.orchestrator._tuner (_Study.run).
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
