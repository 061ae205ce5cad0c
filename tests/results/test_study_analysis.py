"""Importances, the study plot and compare on a study a real launch wrote (one objective,
several families and a learning rate) and one of two objectives made of its trials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml

from afsearch.exceptions import AfsearchError
from afsearch.results import best_so_far, compare_studies, importances, plot_study
from afsearch.store import TrialStore, optuna_study_name, study_best, trials
from tests.ray_fixtures import init_local_ray

pytestmark = pytest.mark.slow

TASK = {"name": "digits-mlp", "epochs": 1, "options": {"width": 8}}


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    import ray

    init_local_ray()
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def db(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    from afsearch.orchestrator import launch

    root = tmp_path_factory.mktemp("analysis")
    url = f"sqlite:///{root / 'a.db'}"
    single = {
        "task": {**TASK, "lr": {"low": 1e-3, "high": 3e-2, "log": True}},
        "sampler": "random",
        "scheduler": "none",
        "num_samples": 6,
        "max_concurrent": 2,
        "families": [
            {"family": "swish", "beta": {"low": 0.5, "high": 2.0}},
            {"family": "standard", "name": ["relu", "tanh"]},
        ],
    }
    path = root / "single.yaml"
    path.write_text(yaml.safe_dump(single))
    launch(path, study="single", url=url, runs_dir=root / "runs")
    _pareto(url)
    return url


def _pareto(url: str) -> None:
    """A study of two objectives as the store and Optuna hold one: the stored trials of
    'single' with a second value each (so the module launches once)."""
    objectives = [
        {"metric": "val_accuracy", "mode": "max"},
        {"metric": "epoch_seconds", "mode": "min"},
    ]
    ot = optuna.create_study(
        study_name=optuna_study_name("pareto"),
        storage=url,
        directions=["maximize", "minimize"],
    )
    with TrialStore(url) as store:
        store.create_study(
            "pareto",
            space={"objectives": objectives},
            task="digits-mlp",
            metric="val_accuracy",
            mode="max",
            sampler="nsga2",
            scheduler="none",
            num_samples=6,
            optuna_study_name=optuna_study_name("pareto"),
        )
        for k, source in enumerate(trials("single", store)):
            tid = store.start_trial(
                "pareto",
                tune_trial_id=f"p{k}",
                config=source.config,
                activation_id=source.activation_id,
                preferred_number=k,
            )
            store.finish_trial(tid, status="completed", metric_value=source.metric_value)
            ot.add_trial(
                optuna.trial.create_trial(
                    values=[source.metric_value, 0.1 * (k % 3 + 1)],
                    params={},
                    distributions={},
                )
            )
        store.set_study_status("pareto", "completed", finished=True)


def test_importances_rank_the_parameters_every_trial_has(db: str) -> None:
    found = importances("single", db)
    assert set(found) == {"family", "task.lr"}
    assert sum(found.values()) == pytest.approx(1.0)
    assert list(found.values()) == sorted(found.values(), reverse=True)
    assert importances("single", db) == found  # seeded: the same ranking twice


def test_importances_of_a_study_with_too_few_trials_is_a_sentence(db: str) -> None:
    from afsearch.store import copy_study

    with TrialStore(db) as store:
        copy_study("single", "few", store)
    # The copy's Optuna half keeps one completed trial.
    few = optuna.load_study(study_name=optuna_study_name("few"), storage=db)
    keep = few.trials[0]
    optuna.delete_study(study_name=optuna_study_name("few"), storage=db)
    optuna.create_study(
        study_name=optuna_study_name("few"), storage=db, direction="maximize"
    ).add_trial(keep)
    with pytest.raises(AfsearchError, match="'few' has 1 completed trial; parameter importances"):
        importances("few", db)


def test_plot_draws_progress_shapes_and_the_pareto_front(db: str, tmp_path: Path) -> None:
    one = plot_study("single", db, path=tmp_path / "single")
    assert one == tmp_path / "single.png" and one.read_bytes()[:4] == b"\x89PNG"
    two = plot_study("pareto", db, path=tmp_path / "pareto.png", top=2)
    assert two.read_bytes()[:4] == b"\x89PNG"
    # Three panels are wider than two.
    from PIL import Image

    assert Image.open(two).size[0] > Image.open(one).size[0]
    with pytest.raises(AfsearchError, match="top must be a positive integer"):
        plot_study("single", db, path=tmp_path / "x.png", top=0)


def test_best_so_far_follows_the_mode() -> None:
    assert best_so_far([None, 0.5, 0.4, 0.7], "max") == [None, 0.5, 0.5, 0.7]
    assert best_so_far([3.0, float("nan"), 1.0, 2.0], "min") == [3.0, 3.0, 1.0, 1.0]


def test_compare_shows_each_study_s_best_trial(db: str) -> None:
    rows = compare_studies(["single", "pareto"], db)
    assert [r.study for r in rows] == ["single", "pareto"]
    for r in rows:
        best = study_best(r.study, db)
        assert best is not None
        assert (r.best_trial, r.best_value, r.activation_id) == (
            best.number,
            best.metric_value,
            best.activation_id,
        )
        assert r.trials == len(trials(r.study, db)) and r.expression
    assert rows[1].sampler == "nsga2" and rows[1].best_value == rows[0].best_value
    with pytest.raises(AfsearchError, match="No study named 'nope'"):
        compare_studies(["single", "nope"], db)
