"""``afsearch launch``: a Ray Tune Tuner with Optuna samplers over a search space."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.space import SearchSpace, grid_configs, load_space, parse_space

_QUIET_ENV = {
    # Results go to the trial database; Tune's CSV/JSON/TensorBoard loggers only cost time.
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "RAY_AIR_NEW_OUTPUT": "0",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "100000",
    "RAY_DEDUP_LOGS": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}


_STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


@dataclass
class LaunchResult:
    study: str
    url: str
    status: str
    num_trials: int
    experiment_path: str


#: The environment variable that names where Ray keeps experiment state and checkpoints.
RUNS_ENV = "AFSEARCH_RUNS"
#: Ray's own variable naming the cluster to join (set inside a RayJob or after `ray start`).
RAY_ADDRESS_ENV = "RAY_ADDRESS"


def default_runs_dir() -> str:
    return _storage(os.environ.get(RUNS_ENV, "afsearch_runs"))


def _storage(path: str | Path) -> str:
    """An absolute local path, or a URI (s3://, gs://, ...) passed to Ray Tune unchanged."""
    text = str(path)
    return text.rstrip("/") if "://" in text else str(Path(text).resolve())


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on an address nobody listens at (ray.init would wait for minutes)."""
    import socket

    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise AfsearchError(
            f"The Ray address {address!r} is not of the form host:port (or ray://host:port)."
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise AfsearchError(
            f"Could not connect to the Ray cluster at {address!r} ({exc.strerror or exc}); "
            "check that `ray start --head` runs there and the address is host:port."
        ) from None


def _init_ray(address: str | None, num_cpus: int | None, num_gpus: int | None) -> bool:
    import ray

    for k, v in _QUIET_ENV.items():
        os.environ.setdefault(k, v)
    if ray.is_initialized():
        return False
    # Inside a RayJob (or after `ray start`), Ray names the cluster in RAY_ADDRESS.
    address = address or os.environ.get(RAY_ADDRESS_ENV) or None
    kwargs: dict[str, Any] = {
        "logging_level": logging.ERROR,
        "log_to_driver": False,
        "include_dashboard": False,
        "configure_logging": True,
    }
    if address:
        _check_reachable(address)
        try:
            ray.init(address=address, **kwargs)
        except Exception as exc:
            raise AfsearchError(
                f"Could not connect to the Ray cluster at {address!r} ({type(exc).__name__}); "
                "check that `ray start --head` runs there and the address is host:port."
            ) from None
    else:
        # "local" starts a fresh instance even when another local Ray runs on this machine.
        ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, **kwargs)
    return True


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
) -> LaunchResult:
    """Run (or resume) a study; every trial lands in the database at ``url``.

    >>> launch("search_spaces/quickstart.yaml", study="demo")  # doctest: +SKIP
    """
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler
    from ray.tune.search import ConcurrencyLimiter

    from afsearch.orchestrator._callback import ProgressCallback, StoreCallback
    from afsearch.orchestrator._scheduler import ResumableASHA
    from afsearch.orchestrator._searcher import (
        AfsearchOptunaSearch,
        DefineByRun,
        _retrying,
        make_sampler,
        prepare_resume,
    )
    from afsearch.orchestrator._trainable import EPOCH, train_candidate
    from afsearch.store import DRIVER_RETRIES, TrialStore

    store = TrialStore(url, retries=DRIVER_RETRIES)
    url = store.url
    source: str | None = None
    if not isinstance(space, SearchSpace):
        source = str(space)
        space = load_space(space)
    if task is not None:
        raw = dict(space.raw)
        task_raw = raw.get("task", {})
        task_raw = {"name": task_raw} if isinstance(task_raw, str) else dict(task_raw or {})
        task_raw["name"] = task
        raw["task"] = task_raw
        space = parse_space(raw, source=space.source, default_name=space.name)
    if num_samples is not None:
        if num_samples < 1:
            raise AfsearchError(f"--num-samples must be at least 1, got {num_samples}.")
        space.num_samples = num_samples
    if space.sampler == "grid":
        space.num_samples = min(space.num_samples, sum(1 for _ in grid_configs(space)))
    if max_failures is not None:
        if max_failures < 0:
            raise AfsearchError(f"--max-failures must be at least 0, got {max_failures}.")
        space.max_failures = max_failures
    if trial_timeout_s is not None:
        if trial_timeout_s <= 0:
            raise AfsearchError(f"--trial-timeout must be above 0 seconds, got {trial_timeout_s}.")
        space.trial_timeout_s = trial_timeout_s
    if cpus_per_trial <= 0 or gpus_per_trial < 0:
        raise AfsearchError("--cpus-per-trial must be above 0 and --gpus-per-trial at least 0.")
    name = study or space.name
    if not _STUDY_NAME.match(name):
        raise AfsearchError(
            f"The study name {name!r} is not valid; use up to 100 letters, digits, '.', '_', "
            "'-' or ':', starting with a letter or digit."
        )
    metric = space.objectives[0][0] if space.objectives else str(space.metric)
    mode = space.objectives[0][1] if space.objectives else str(space.mode)

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

    runs = _storage(runs_dir) if runs_dir else default_runs_dir()
    # Each launch (and each resume) is its own Ray experiment; the study spans them. Multi-node
    # runs need shared storage here: NFS, or a URI such as s3://bucket/afsearch_runs.
    run_name = time.strftime("run-%Y%m%d-%H%M%S")
    experiment = f"{runs}/{name}/{run_name}"
    optuna_name = f"afsearch:{name}"
    # Ray first: an unreachable cluster must not leave a study behind in the database.
    started_ray = _init_ray(address, num_cpus, None)
    interrupted: list[Any] = []
    remaining = space.num_samples
    try:
        if existing is None:
            store.create_study(
                name,
                space=space.raw,
                space_path=source,
                task=space.task,
                task_settings={k: repr(v) for k, v in space.task_values.items()}
                | {"options": space.task_options},
                metric=metric,
                mode=mode,
                sampler=space.sampler,
                scheduler=space.scheduler,
                seed=seed,
                num_samples=space.num_samples,
                optuna_study_name=optuna_name,
            )
        else:
            # The database is the source of truth: trials it holds as finished stay finished, the
            # ones that were running are marked and run again under their own numbers.
            from afsearch.store import trials as stored_trials

            store.set_study_status(name, "running")
            store.mark_interrupted(name)
            rows = stored_trials(name, store)
            interrupted = [t for t in rows if t.status.value == "interrupted"]
            finished = len(rows) - len(interrupted)
            remaining = max(0, existing.num_samples - finished)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # Pinged before use like the store's connections: a restarted server is reconnected
        # instead of failing the next call.
        storage = _retrying(
            optuna.storages.RDBStorage,
            url,
            engine_kwargs={} if url.startswith("sqlite") else {"pool_pre_ping": True},
        )
        directions: list[Any] = (
            ["maximize" if m == "max" else "minimize" for _, m in space.objectives]
            if space.objectives
            else ["maximize" if mode == "max" else "minimize"]
        )
        ot_study = _retrying(
            optuna.create_study,
            storage=storage,
            study_name=optuna_name,
            directions=directions,
            load_if_exists=True,
        )
        if [d.name.lower() for d in _retrying(lambda: ot_study.directions)] != directions:
            raise AfsearchError(
                f"The Optuna study {optuna_name!r} exists with other directions; choose another "
                "--study name."
            )
        trainable = tune.with_resources(
            train_candidate, {"cpu": cpus_per_trial, "gpu": gpus_per_trial}
        )
        callbacks: list[Any] = [StoreCallback(url, name, metric, mode)]
        if progress:
            callbacks.append(ProgressCallback(metric, mode, space.num_samples))

        if interrupted:
            prepare_resume(ot_study, interrupted)
        if remaining == 0:
            store.set_study_status(name, "completed", finished=True)
            return LaunchResult(name, store.url_masked, "completed", 0, experiment)
        drawn = len(_retrying(ot_study.get_trials, deepcopy=False))
        searcher = AfsearchOptunaSearch(
            space=DefineByRun(space, url, seed=seed, cpus_per_trial=cpus_per_trial, reuse=reuse),
            metric=[o[0] for o in space.objectives] if space.objectives else metric,
            mode=[o[1] for o in space.objectives] if space.objectives else mode,
            # A resumed study draws new numbers: the same seed would repeat the first draws.
            sampler=make_sampler(space, seed + drawn),
            study_name=optuna_name,
            storage=storage,
            seed=seed,
        )
        concurrency = max_concurrent or space.max_concurrent
        if space.scheduler == "asha" and not space.objectives:
            max_t = _max_epochs(space)
            scheduler: Any = ResumableASHA(
                # Epochs, not reports: a trial continued from a checkpoint meets its rungs at
                # the epochs it has trained.
                time_attr=EPOCH,
                metric=metric,
                mode=mode,
                max_t=max_t,
                grace_period=min(space.grace_period, max_t),
                reduction_factor=3,
            )
            if existing is not None:
                scheduler.record_earlier(_rung_history(store, name))
        else:
            scheduler = FIFOScheduler()
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=ConcurrencyLimiter(searcher, max_concurrent=concurrency),
                scheduler=scheduler,
                num_samples=remaining,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name=run_name,
                storage_path=f"{runs}/{name}",
                callbacks=callbacks,
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=space.max_failures),
                # The newest checkpoint of a trial is the one a retry or a resume continues from.
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            ),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grid = tuner.fit()
        # Tune returns after Ctrl-C too: trials it stopped never completed, so the database
        # marks them, and the study is complete only when every sample finished.
        left = store.mark_interrupted(name)
        target = existing.num_samples if existing is not None else space.num_samples
        done = _finished(store, name)
        status = "completed" if left == 0 and done >= target else "interrupted"
        store.set_study_status(name, status, finished=True)
        return LaunchResult(name, store.url_masked, status, len(grid), experiment)
    except KeyboardInterrupt:
        store.set_study_status(name, "interrupted", finished=True)
        store.mark_interrupted(name)
        raise
    except Exception:
        # The study can be continued with --resume; what ran is kept, what ran no more is marked.
        with contextlib.suppress(Exception):
            store.mark_interrupted(name)
            store.set_study_status(name, "failed", finished=True)
        raise
    finally:
        if started_ray:
            import ray

            ray.shutdown()


def _finished(store: Any, name: str) -> int:
    from afsearch.store import trials

    return sum(t.status.value not in ("running", "interrupted") for t in trials(name, store))


def _rung_history(store: Any, name: str) -> dict[str, dict[int, float]]:
    """The metric by epoch of every trial of study ``name`` that will not run again."""
    from afsearch.store import epochs, trials

    history: dict[str, dict[int, float]] = {}
    for t in trials(name, store):
        if t.status.value in ("running", "interrupted"):
            continue
        values = {
            e.epoch: e.metric_value for e in epochs(t.id, store) if e.metric_value is not None
        }
        if values:
            history[f"earlier-{t.id}"] = values
    return history


def _max_epochs(space: SearchSpace) -> int:
    from afsearch.space import Choice, Range
    from afsearch.space import task_settings as settings_of

    v = space.task_values.get("epochs")
    if isinstance(v, Range):
        return int(v.high)
    if isinstance(v, Choice):
        return int(max(v.options))
    if v is not None:
        return int(v)
    return int(settings_of(space, {}).epochs)
