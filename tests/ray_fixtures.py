"""One local Ray instance per test module (the packages whose tests start Ray import it in their
conftest); trial databases are real SQLite files."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def init_local_ray(num_gpus: int | None = None) -> None:
    """A fresh local Ray on 2 CPUs; workers inherit the environment as it is now.

    ``num_gpus`` GPUs that Ray counts and schedules, though the machine may have none: trials
    asking for GPUs are placed and then train on the CPU (torch sees no CUDA).
    """
    import ray

    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        address="local",
        num_cpus=2,
        num_gpus=num_gpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="ERROR",
    )


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    import ray

    init_local_ray()
    yield
    ray.shutdown()
