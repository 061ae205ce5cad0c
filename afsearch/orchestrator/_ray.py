"""Starting or joining Ray for a launch, and where Ray keeps experiment state."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from afsearch.exceptions import AfsearchError

if TYPE_CHECKING:
    from afsearch.space import SearchSpace

_QUIET_ENV = {
    # Results go to the trial database; Tune's CSV/JSON/TensorBoard loggers only cost time.
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "RAY_AIR_NEW_OUTPUT": "0",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "100000",
    "RAY_DEDUP_LOGS": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}

#: The environment variable that names where Ray keeps experiment state and checkpoints.
RUNS_ENV = "AFSEARCH_RUNS"
#: Ray's own variable naming the cluster to join (set inside a RayJob or after `ray start`).
RAY_ADDRESS_ENV = "RAY_ADDRESS"


#: Where Ray keeps experiment state and checkpoints when neither ``--runs-dir`` nor
#: ``$AFSEARCH_RUNS`` says: this folder in the working directory.
DEFAULT_RUNS_DIR = "afsearch_runs"


def default_runs_dir() -> str:
    return storage_path(os.environ.get(RUNS_ENV, DEFAULT_RUNS_DIR))


def storage_path(path: str | Path) -> str:
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


def init_ray(
    address: str | None,
    num_cpus: int | None,
    num_gpus: int | None,
    runtime_env: dict[str, Any] | None = None,
) -> bool:
    """Join the cluster at ``address`` (or ``$RAY_ADDRESS``), else start a local instance;
    whether this call started Ray (and so must shut it down)."""
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
    if runtime_env:
        kwargs["runtime_env"] = runtime_env
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


def task_runtime_env(space: SearchSpace) -> dict[str, Any] | None:
    """Ray's ``runtime_env`` that ships a user's task module to the workers.

    A task named ``module:Factory`` whose module lies next to the space file or in the working
    directory (not in an installed package) travels to every worker as Ray ``py_modules``.
    """
    if ":" not in space.task:
        return None
    top = space.task.partition(":")[0].partition(".")[0]
    module = sys.modules.get(top)
    location = getattr(module, "__file__", None)
    if location is None:
        return None
    path = Path(location)
    shipped = path.parent if path.name == "__init__.py" else path
    if "site-packages" in shipped.parts or "dist-packages" in shipped.parts:
        return None
    return {"py_modules": [str(shipped)]}
