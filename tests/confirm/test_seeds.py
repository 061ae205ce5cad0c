"""Trainings on fresh seeds: in this process, and as Ray tasks in parallel (the same numbers)."""

from __future__ import annotations

import pytest

from afsearch.confirm import SeedJob, SeedRun, fresh_seeds, train_seed
from afsearch.exceptions import AfsearchError
from afsearch.orchestrator import train_seeds
from afsearch.tasks import TaskSettings

TINY = TaskSettings(epochs=1, batch_size=128, options={"width": 8})
SWISH = {"family": "swish", "beta": 1.5}
RELU = {"family": "standard", "name": "relu"}


def test_fresh_seeds_skip_the_ones_to_avoid() -> None:
    assert fresh_seeds(3, avoid={10_001}) == [10_000, 10_002, 10_003]
    assert fresh_seeds(2, base=5, avoid=range(5, 9)) == [9, 10]


@pytest.mark.slow
def test_ray_tasks_give_what_a_training_here_gives(ray_local: None) -> None:
    jobs = [SeedJob(name, act, seed, TINY) for name, act in (("swish", SWISH), ("relu", RELU))
            for seed in (3, 4)]  # fmt: skip
    seen: list[tuple[str, int]] = []
    runs = train_seeds(jobs, "digits-mlp", on_result=lambda j, r: seen.append((j.key, r.seed)))
    assert [r.seed for r in runs] == [3, 4, 3, 4]  # in the order of the jobs
    assert sorted(seen) == sorted((j.key, j.seed) for j in jobs)  # each told as it ended
    here = train_seed(SWISH, "digits-mlp", 4, settings=TINY)
    assert isinstance(runs[1], SeedRun)
    assert (runs[1].metric, runs[1].test) == (here.metric, here.test)  # CPU: reproducible
    # A candidate travels as its data (expression and parameters), too.
    from afsearch.activations import build

    (as_data,) = train_seeds(
        [SeedJob("c", build(SWISH).to_dict(), 4, TINY)], "digits-mlp", cpus_per_trial=2
    )
    assert as_data.metric == here.metric


@pytest.mark.slow
def test_a_users_mistake_on_a_worker_is_one_sentence(ray_local: None) -> None:
    bad = TaskSettings(epochs=1, options={"widht": 8})
    with pytest.raises(AfsearchError, match="has no option 'widht'") as info:
        train_seeds([SeedJob("x", RELU, 1, bad)], "digits-mlp")
    assert "\n" not in str(info.value)
    with pytest.raises(AfsearchError, match="asks for 1 CPUs and 1 GPUs, but the Ray cluster"):
        train_seeds([SeedJob("x", RELU, 1, TINY)], "digits-mlp", gpus_per_trial=1)
    with pytest.raises(AfsearchError, match="cpus_per_trial must be above 0"):
        train_seeds([SeedJob("x", RELU, 1, TINY)], "digits-mlp", cpus_per_trial=0)
