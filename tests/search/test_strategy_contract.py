"""The contract every sampler a space accepts keeps, as Optuna's ``tests/samplers_tests`` check
theirs: with finite, NaN and failing objectives the proposer goes on proposing buildable
candidates of the space, and a study resumed (the proposer pickled, as Tune checkpoints its
searcher, and the Optuna study loaded from its storage) goes on where it stopped.

The unit-level tests drive afsearch's proposer directly, without Ray: Optuna asks, the
:class:`TrialProposer` proposes (reading the study's trials, as it reads the database), the
objective is told. One small real launch per sampler, with a candidate that raises and one that
diverges, is marked slow.
"""

from __future__ import annotations

import json
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
import yaml

from afsearch.activations import build
from afsearch.compiler import CompiledActivation
from afsearch.orchestrator._proposer import TrialProposer
from afsearch.search import make_strategy, scored_trials, strategy_names
from afsearch.space import parse_space
from afsearch.trial import CONFIG_KEY

SAMPLERS = strategy_names()

optuna.logging.set_verbosity(optuna.logging.ERROR)

#: Every sampler, and the prescreen with the sampler of each of its two ways (pool, ranking).
CASES = [*SAMPLERS, "random+prescreen", "tpe+prescreen", "evolution+prescreen"]
ANCHORS = ["relu", "tanh"]


def _raw(case: str) -> dict[str, Any]:
    sampler = case.split("+")[0]
    raw: dict[str, Any] = {
        "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 8}},
        "sampler": sampler,
        "scheduler": "none",
        "families": [
            {"family": "swish", "beta": {"low": 0.25, "high": 4.0, "log": True}},
            {"family": "elu", "alpha": {"low": 0.1, "high": 2.0}},
            {"family": "grammar", "unary": ["x", "tanh", "sin", "relu"], "binary": ["add", "mul"]},
        ],
    }
    if sampler == "grid":
        raw["families"] = [{"family": "swish", "beta": [0.5, 1.0, 2.0, 4.0]}, {"family": "elu"}]
    if sampler == "nsga2":
        raw["objectives"] = [
            {"metric": "val_accuracy", "mode": "max"},
            {"metric": "epoch_seconds", "mode": "min"},
        ]
    if sampler == "evolution":
        raw["sampler_options"] = {"population": 4, "tournament": 2, "initial": ["gelu"]}
    if case.endswith("+prescreen"):
        raw["prescreen"] = {"pool": 40, "anchors": ANCHORS, "proposals": 3}
    return raw


@dataclass
class Row:
    """A trial as the proposer reads it from the database."""

    number: int
    config: dict[str, Any]
    metric_value: float | None


class Proposer(TrialProposer):
    """The launch's proposer reading this test's trials instead of a database."""

    rows: list[Row]

    def _trials(self) -> list[Any]:
        return list(self.rows)


def _objective(activation: dict[str, Any], kind: str, number: int) -> float | None:
    """f(1) of the candidate (finite); every third trial NaN, or None for a trial that
    raised."""
    if kind != "finite" and number % 3 == 2:
        return math.nan if kind == "nan" else None
    with torch.no_grad():
        return float(CompiledActivation(build(activation))(torch.tensor([1.0]))[0])


class Driver:
    """A study of one case, driven as ``launch`` drives it."""

    def __init__(self, case: str, storage: str | None = None) -> None:
        self.case = case
        self.space = parse_space(_raw(case), "contract.yaml")
        self.two = self.space.sampler == "nsga2"
        self.storage = storage
        self.study = self._study(load=False)
        self.proposer = Proposer(self.space, "sqlite://", seed=0, cpus_per_trial=1, reuse=False)
        self.proposer.rows = []
        self.activations: list[dict[str, Any]] = []

    def _study(self, *, load: bool) -> optuna.Study:
        sampler = make_strategy(self.space, 0).sampler(0)
        directions = ["maximize", "minimize"] if self.two else ["maximize"]
        if load:
            return optuna.load_study(study_name="contract", storage=self.storage, sampler=sampler)
        return optuna.create_study(
            study_name="contract", storage=self.storage, sampler=sampler, directions=directions
        )

    def run(self, n: int, kind: str = "finite") -> None:
        for _ in range(n):
            trial = self.study.ask()
            spec = self.proposer(trial)[CONFIG_KEY]
            activation = spec["activation"]
            build(activation)  # every proposal builds
            self.activations.append(activation)
            value = _objective(activation, kind, trial.number)
            if value is None:
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            elif math.isnan(value):
                self.study.tell(trial, [value, 1.0] if self.two else value)  # Optuna: FAIL
            else:
                self.study.tell(trial, [value, 1.0] if self.two else value)
            self.proposer.rows.append(Row(trial.number, {"activation": activation}, value))

    def resume(self) -> None:
        """The proposer as Tune restores it, and the study loaded from its storage."""
        rows = self.proposer.rows
        self.proposer = pickle.loads(pickle.dumps(self.proposer))
        self.proposer.rows = rows
        self.study = self._study(load=True)


def _families(driver: Driver) -> set[str]:
    return {fs.family for fs in driver.space.families}


def _in_space(driver: Driver, activation: dict[str, Any]) -> bool:
    named = {"standard"}  # anchors and evolution's initial activations
    return activation["family"] in _families(driver) | named


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["finite", "nan", "failing"])
def test_every_sampler_keeps_proposing_candidates_of_the_space(case: str, kind: str) -> None:
    driver = Driver(case)
    driver.run(9, kind)
    trials = driver.study.trials
    assert len(trials) == 9
    assert all(t.state.is_finished() for t in trials)
    assert all(_in_space(driver, a) for a in driver.activations), driver.activations
    failed = [t.number for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert failed == ([] if kind == "finite" else [2, 5, 8])
    if case.endswith("+prescreen"):
        # The anchors go first whatever the objective does.
        anchors = [{"family": "standard", "name": n} for n in ANCHORS]
        assert driver.activations[:2] == anchors
    if case == "evolution":
        assert driver.activations[0] == {"family": "standard", "name": "gelu"}
    # Later proposals are not all one function, NaN and failures notwithstanding.
    later = {json.dumps(a, sort_keys=True) for a in driver.activations[3:]}
    assert len(later) >= (2 if case == "grid" else 3)


def test_nan_and_failed_trials_give_the_strategies_no_value() -> None:
    rows = [
        Row(0, {"activation": {"family": "standard", "name": "relu"}}, 0.9),
        Row(1, {"activation": {"family": "standard", "name": "tanh"}}, math.nan),
        Row(2, {"activation": {"family": "standard", "name": "gelu"}}, None),
    ]
    assert [s.activation["name"] for s in scored_trials(rows, "max")] == ["relu"]
    assert scored_trials(rows, "min")[0].score == -0.9


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.slow) if "prescreen" in c or c == "grid" else c
        for c in CASES
    ],
)
def test_a_resumed_study_goes_on_where_it_stopped(case: str, tmp_path: Path) -> None:
    driver = Driver(case, storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    driver.run(6, "nan")
    before = list(driver.activations)
    driver.resume()
    driver.run(4)
    assert len(driver.study.trials) == 10
    assert [t.number for t in driver.study.trials] == list(range(10))
    assert all(t.state.is_finished() for t in driver.study.trials)
    assert driver.activations[:6] == before
    after = driver.activations[6:]
    assert all(_in_space(driver, a) for a in after)
    if case.endswith("+prescreen"):
        # The anchors were trained before the interruption: not proposed again.
        assert all(a.get("family") != "standard" for a in after), after
    if case == "evolution":
        # The population is rebuilt from the trials: no initial activation again.
        assert {"family": "standard", "name": "gelu"} not in after
    if case == "grid":
        # The grid goes on through its candidates, not from the first again.
        assert len({json.dumps(a, sort_keys=True) for a in driver.activations}) >= 5


# -- One small real launch per sampler: a candidate that raises, one that diverges.

FAULTY = {
    "family": "expression",
    "expression": ["x", "2*x", "100*x", "x*1e30*exp(30*x)", "3*x", "-x"],
}


@pytest.fixture(scope="module")
def ray_faulty(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import os

    import ray

    from tests.ray_fixtures import init_local_ray

    root = Path(__file__).resolve().parents[2]
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(root), os.environ.get("PYTHONPATH")])
    )
    os.environ.setdefault("AFSEARCH_FAULTY_DIR", str(tmp_path_factory.mktemp("markers")))
    init_local_ray()
    yield
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["random", "tpe", "cmaes", "grid", "evolution", "tpe+prescreen", "random+prescreen"]
)
def test_a_real_launch_records_failures_and_completes(
    ray_faulty: Any, case: str, tmp_path: Path
) -> None:
    from afsearch.orchestrator import launch
    from afsearch.store import trials

    sampler = case.split("+")[0]
    data: dict[str, Any] = {
        "task": {"name": "tests.orchestrator.faulty:FaultyTask", "epochs": 2},
        "sampler": sampler,
        "scheduler": "none",
        "num_samples": 6 if sampler == "grid" else 4,
        "max_concurrent": 2,
        "families": [dict(FAULTY)],
    }
    if sampler == "evolution":
        data["sampler_options"] = {"population": 2, "tournament": 1}
    if case.endswith("+prescreen"):
        data["prescreen"] = {"pool": 10, "anchors": ["relu"], "proposals": 3}
        # Six expressions are fewer than a pool; Swish-beta makes the space uncountable.
        data["families"].append({"family": "swish", "beta": {"low": 0.5, "high": 2.0}})
    space = tmp_path / "s.yaml"
    space.write_text(yaml.safe_dump(data))
    url = f"sqlite:///{tmp_path / 'c.db'}"
    result = launch(space, study="c", url=url, runs_dir=tmp_path / "runs")
    assert result.status == "completed"
    rows = trials("c", url)
    assert 1 <= len(rows) <= data["num_samples"]
    statuses = {t.status.value for t in rows}
    assert statuses <= {"completed", "failed", "diverged", "duplicate"}
    assert "completed" in statuses
    if sampler == "grid":  # every candidate once: the raising one fails, the huge one diverges
        by = {t.config["activation"].get("expression"): t.status.value for t in rows}
        assert by["100*x"] == "failed" and by["x*1e30*exp(30*x)"] in ("diverged", "failed")
