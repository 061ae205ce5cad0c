"""The events a launch gives its observer, from a real small launch on local Ray."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from afsearch.activations import label
from afsearch.orchestrator import (
    LaunchObserver,
    StudyStarted,
    TrialFinished,
    TrialReported,
    TrialStarted,
    launch,
)
from afsearch.store import trials

pytestmark = pytest.mark.slow


class Recorder(LaunchObserver):
    def __init__(self) -> None:
        self.events: list[object] = []

    def ray_starting(self, address: str | None) -> None:
        self.events.append(("ray_starting", address))

    def ray_started(self, seconds: float) -> None:
        self.events.append(("ray_started", seconds))

    def study_started(self, event: StudyStarted) -> None:
        self.events.append(event)

    def trial_started(self, event: TrialStarted) -> None:
        self.events.append(event)

    def trial_reported(self, event: TrialReported) -> None:
        self.events.append(event)

    def trial_finished(self, event: TrialFinished) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


def test_the_observer_sees_every_trial_by_its_number_with_its_values(
    ray_local: None, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    space = tmp_path / "s.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "digits-mlp", "epochs": 2, "options": {"width": 8, "depth": 1}},
                "sampler": "random",
                "scheduler": "none",
                "num_samples": 4,
                "max_concurrent": 2,
                "families": [{"family": "elu", "alpha": {"low": 0.1, "high": 2.0}}],
            }
        )
    )
    seen = Recorder()
    launch(space, study="p", url=url, runs_dir=tmp_path / "runs", observer=seen)

    assert seen.events[0] == ("ray_starting", None)
    assert seen.events[1][0] == "ray_started"
    (study,) = seen.of(StudyStarted)
    assert (study.study, study.total, study.done, study.resumed) == ("p", 4, 0, False)
    assert (study.metric, study.mode) == ("val_accuracy", "max")

    stored = {t.number: t for t in trials("p", url)}
    started = {e.number: e for e in seen.of(TrialStarted)}
    assert set(started) == set(stored) == {0, 1, 2, 3}
    for number, event in started.items():
        config = stored[number].config
        # The activation with its sampled value: two ELU trials never look alike.
        assert event.activation == label(config["activation"], config["expression"], width=60)
        assert event.activation == f"elu(alpha={config['activation']['alpha']:.4g})"
        assert event.epochs == 2

    for number in stored:
        reports = [e for e in seen.of(TrialReported) if e.number == number]
        assert [e.epoch for e in reports] == [1, 2]
        assert reports[-1].value == pytest.approx(stored[number].metric_value)

    finished = seen.of(TrialFinished)
    assert [e.done for e in finished] == [1, 2, 3, 4]
    assert all(e.total == 4 for e in finished)
    assert finished[-1].running == 0
    for e in finished:
        assert e.status == stored[e.number].status.value == "completed"
        assert e.value == pytest.approx(stored[e.number].metric_value)
        # Each trial is running from its start to its end, and not after.
        assert seen.events.index(started[e.number]) < seen.events.index(e)
    best = max(stored.values(), key=lambda t: t.metric_value)
    assert finished[-1].best is not None
    assert finished[-1].best.number == best.number
    assert finished[-1].best.value == pytest.approx(best.metric_value)
