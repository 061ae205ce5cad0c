"""GPUs on a Ray cluster: trials that ask for a fraction of one are placed by Ray's accounting,
each trial stores the device it trained on, and a launch that leaves GPUs idle says so.

Ray here counts two GPUs the machine need not have (``num_gpus=2``): trials asking for GPUs are
scheduled as on a GPU node and then train on the CPU, since torch sees no CUDA.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from afsearch.cli import app
from afsearch.orchestrator import LaunchObserver, launch
from afsearch.store import trials
from afsearch.trial import TrialReported, TrialStarted
from tests.ray_fixtures import init_local_ray

FAKE_GPUS = 2


@pytest.fixture(scope="module")
def ray_gpus() -> Iterator[None]:
    import ray

    init_local_ray(num_gpus=FAKE_GPUS)
    yield
    ray.shutdown()


def write_space(path: Path, **overrides: object) -> Path:
    data: dict = {
        "task": {
            "name": "digits-mlp",
            "epochs": 2,
            "batch_size": 128,
            "options": {"width": 16, "depth": 1},
        },
        "scheduler": "none",
        "num_samples": 3,
        "max_concurrent": 2,
        "families": [{"family": "swish", "beta": {"low": 0.5, "high": 2.0}}],
    }
    data.update(overrides)
    path.write_text(yaml.safe_dump(data))
    return path


class GpuWatch(LaunchObserver):
    """The GPUs Ray holds for running trials, read on the driver as trials start and report,
    and the notices the launch gives."""

    def __init__(self) -> None:
        self.held: list[float] = []
        self.notices: list[str] = []

    def _look(self) -> None:
        import ray

        self.held.append(FAKE_GPUS - ray.available_resources().get("GPU", 0.0))

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def trial_started(self, event: TrialStarted) -> None:
        self._look()

    def trial_reported(self, event: TrialReported) -> None:
        self._look()


@pytest.mark.slow
def test_half_a_gpu_per_trial_is_scheduled_and_each_trial_stores_its_device(
    ray_gpus: None, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    space = write_space(tmp_path / "s.yaml", resources={"gpus_per_trial": 0.5})
    watch = GpuWatch()
    result = launch(space, study="half", url=url, runs_dir=tmp_path / "runs", observer=watch)
    assert result.status == "completed" and result.num_trials == 3
    # Ray's fractional accounting: each running trial holds half a GPU, never a whole one.
    assert watch.held and max(watch.held) > 0, watch.held
    assert all(h in (0.0, 0.5, 1.0) for h in watch.held), watch.held
    assert watch.notices == []
    rows = trials("half", url)
    assert [t.status.value for t in rows] == ["completed"] * 3
    # Ray placed each trial on a GPU it counts; torch has no CUDA here, so they trained on CPU.
    assert [t.device for t in rows] == ["cpu"] * 3

    runner = CliRunner()
    shown = runner.invoke(app, ["show", "half/0", "--db", url])
    assert shown.exit_code == 0, shown.output
    assert "device cpu" in shown.output
    listed = runner.invoke(app, ["trials", "--study", "half", "--db", url, "--json"])
    assert listed.exit_code == 0, listed.output
    assert [t["device"] for t in json.loads(listed.stdout)] == ["cpu"] * 3


@pytest.mark.slow
def test_a_launch_that_leaves_the_clusters_gpus_idle_says_so_once(
    ray_gpus: None, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    space = write_space(tmp_path / "s.yaml", num_samples=1)
    watch = GpuWatch()
    launch(space, study="idle", url=url, runs_dir=tmp_path / "runs", observer=watch)
    assert watch.notices == [
        "the Ray cluster has 2 GPUs but trials ask for none; set resources.gpus_per_trial (or "
        "--gpus-per-trial) to train on them."
    ]
    assert max(watch.held) == 0.0
    # The command line prints it as one line (Ray is already up: the launch joins it).
    runs = ["--runs-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(
        app, ["launch", str(space), "--study", "idle2", "--db", url, "--quiet", *runs]
    )
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if "trials ask for none" in ln]
    assert lines == [f"afsearch: {watch.notices[0]}"]
    # Asked on the command line, the GPUs are used and nothing is said.
    flags = ["--quiet", "--gpus-per-trial", "0.5", *runs]
    result = CliRunner().invoke(
        app, ["launch", str(space), "--study", "idle3", "--db", url, *flags]
    )
    assert result.exit_code == 0, result.output
    assert "trials ask for none" not in result.output


def test_resuming_a_study_that_is_not_there_creates_no_database(tmp_path: Path) -> None:
    db = tmp_path / "missing.db"
    space = write_space(tmp_path / "s.yaml")
    result = CliRunner().invoke(
        app, ["launch", str(space), "--study", "nope", "--db", f"sqlite:///{db}", "--resume"]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert lines[0].startswith("error: There is no study 'nope' to resume: the database file")
    assert "does not exist" in lines[0]
    assert not db.exists()


def test_resuming_a_study_another_database_lacks_names_it_and_changes_nothing(
    tmp_path: Path,
) -> None:
    from afsearch.store import TrialStore, studies

    url = f"sqlite:///{tmp_path / 'other.db'}"
    with TrialStore(url) as store:
        store.create_study(
            "there",
            space={},
            task="digits-mlp",
            metric="val_accuracy",
            mode="max",
            sampler="tpe",
            scheduler="asha",
            num_samples=1,
        )
    space = write_space(tmp_path / "s.yaml")
    result = CliRunner().invoke(
        app, ["launch", str(space), "--study", "nope", "--db", url, "--resume"]
    )
    assert result.exit_code == 2, result.output
    assert "There is no study 'nope' to resume: no study named 'nope'" in result.output
    assert "existing studies are 'there'" in result.output
    assert [s.name for s in studies(url)] == ["there"]
