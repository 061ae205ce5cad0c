"""The confirmation's protocol on a real SQLite store: the split that judges, learning rates
tuned for every arm on the validation split over seeds of their own, errors compared on a log
scale, and recipes.

Training is replaced by a scripted runner whose metrics are a known function of the arm, the
learning rate, the seed and the split, so what the protocol must choose is known exactly; the
real training path is covered by tests/orchestrator/test_confirm.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from afsearch.confirm import SeedJob, SeedRun, confirm_study
from afsearch.confirm._protocol import TUNING_SEED_BASE, choose_factor, split_metric
from afsearch.confirm._stats import choose_scale, compare
from afsearch.exceptions import AfsearchError
from afsearch.space import ConfirmOptions
from afsearch.store import TrialStore, confirm_runs
from afsearch.tasks import TaskSettings
from afsearch.trial import TrialSpec

LR = 1e-2


def spec(act_id: str, seed: int, metric: str, mode: str) -> TrialSpec:
    settings = TaskSettings(epochs=1, batch_size=32, lr=LR)
    return TrialSpec(
        activation={"family": "swish", "beta": 1.5},
        candidate={"expression": "x*sigmoid(1.5*x)", "id": act_id},
        task="digits-mlp",
        settings=settings,
        seeds=1,
        seed=seed,
        metric=metric,
        mode=mode,
        dedup_key=act_id,
    )


@pytest.fixture
def store(tmp_path: Path) -> TrialStore:
    return TrialStore(f"sqlite:///{tmp_path / 'p.db'}")


def make_study(store: TrialStore, metric: str = "val_accuracy", mode: str = "max") -> None:
    store.create_study(
        "p",
        space={},
        space_path=None,
        task="digits-mlp",
        task_settings={},
        metric=metric,
        mode=mode,
        sampler="random",
        scheduler="none",
        seed=0,
        num_samples=2,
        optuna_study_name="p",
    )
    for k, act in enumerate(("af-good", "af-plain")):
        s = spec(act, seed=k, metric=metric, mode=mode)
        store.upsert_activation(
            act,
            expression="x*sigmoid(1.5*x)",
            srepr="",
            latex="",
            family="swish",
            params={},
        )
        tid = store.start_trial("p", tune_trial_id=act, config=s.stored(), activation_id=act)
        store.finish_trial(tid, status="completed", metric_value=0.9 - 0.1 * k)


Metrics = Callable[[str, float, int], dict[str, float]]


def runner_of(metrics: Metrics, seen: list[SeedJob]):
    """A Runner whose training returns ``metrics(arm, lr, seed)`` at once."""

    def run(jobs: Sequence[SeedJob], task: str, on_result=None) -> list[SeedRun]:
        runs = []
        for job in jobs:
            seen.append(job)
            name = job.activation.get("name") or job.key.arm.arm
            values = metrics(name, job.settings.lr, job.seed)
            run = SeedRun(job.seed, values.get("val_accuracy"), {}, False, 0.1, values)
            runs.append(run)
            if on_result:
                on_result(job, run)
        return runs

    return run


def accuracy(arm: str, lr: float, seed: int) -> dict[str, float]:
    """af-good is best at 3x the lr, relu at 0.3x; the test split is 0.05 below validation."""
    best = {"af-good": 3 * LR, "af-plain": LR, "relu": 0.3 * LR}[arm]
    level = {"af-good": 0.95, "af-plain": 0.80, "relu": 0.85}[arm]
    val = level - 0.1 * abs(math.log(lr / best)) + 0.001 * (seed % 7)
    return {"val_accuracy": val, "test_accuracy": val - 0.05, "val_loss": 1 - val}


def test_the_test_split_judges_and_both_splits_are_stored(store: TrialStore) -> None:
    make_study(store)
    seen: list[SeedJob] = []
    options = ConfirmOptions(top=2, seeds=3, against=("relu",))
    result = confirm_study(store, "p", options, runner=runner_of(accuracy, seen))
    runs = [r for r in confirm_runs("p", store) if r.kind == "candidate"]
    for r in runs:
        assert r.metric_value == pytest.approx(r.metrics["test"]["test_accuracy"])
        assert r.metrics["val"]["val_accuracy"] == pytest.approx(r.metric_value + 0.05)
        assert r.metrics["split"] == "test"
    best = result.verdicts[0]
    assert best.options["split"] == "test" and best.options["lr_factor"] == 1.0
    assert {s.seed for s in seen} == set(result.seeds)  # no tuning without lr_grid
    val = ConfirmOptions(top=2, seeds=3, against=("relu",), split="val")
    confirm_study(store, "p", val, runner=runner_of(accuracy, []))
    assert all(
        r.metric_value == pytest.approx(r.metrics["val"]["val_accuracy"])
        for r in confirm_runs("p", store)
        if r.kind == "candidate" and r.metrics["split"] == "val"
    )


def test_every_arm_picks_its_lr_on_validation_over_seeds_of_its_own(store: TrialStore) -> None:
    make_study(store)
    seen: list[SeedJob] = []
    options = ConfirmOptions(top=2, seeds=3, against=("relu",), lr_grid=(0.3, 1.0, 3.0))
    result = confirm_study(store, "p", options, runner=runner_of(accuracy, seen))
    chosen = {v.arm: v.options["lr_factor"] for v in result.verdicts}
    assert chosen == {"af-good": 3.0, "af-plain": 1.0, "relu": 0.3}  # the validation argmax
    tuning = [j for j in seen if j.key.kind == "tuning"]
    judging = [j for j in seen if j.key.kind != "tuning"]
    assert len(tuning) == 3 * 3 * options.tuning_seeds
    tuning_seeds = {j.seed for j in tuning}
    assert min(tuning_seeds) >= TUNING_SEED_BASE
    assert not tuning_seeds & set(result.seeds)  # the judging seeds are untouched by tuning
    assert not tuning_seeds & {0, 1}  # nor the search's
    for job in judging:
        assert job.settings.lr == pytest.approx(LR * chosen[job.key.arm.arm])
    stored = confirm_runs("p", store)
    assert len([r for r in stored if r.kind == "tuning"]) == len(tuning)
    # Continued, nothing is trained again.
    again: list[SeedJob] = []
    rerun = confirm_study(store, "p", options, runner=runner_of(accuracy, again))
    assert again == [] and rerun.trained == 0


def test_an_arm_whose_every_factor_diverges_keeps_the_factor_nearest_one() -> None:
    tuned = choose_factor({0.3: [None], 1.0: [None], 3.0: [None]}, "max")
    assert tuned.factor == 1.0
    assert choose_factor({0.3: [0.5, 0.5], 3.0: [0.9, None]}, "max").factor == 0.3
    assert choose_factor({0.3: [2.0], 1.0: [1.0], 3.0: [1.0]}, "min").factor == 1.0


def test_errors_are_compared_as_ratios_of_geometric_means(store: TrialStore) -> None:
    make_study(store, metric="val_loss", mode="min")

    def loss(arm: str, lr: float, seed: int) -> dict[str, float]:
        # Heavy-tailed errors: af-good is 4x lower but one seed of the baseline blows up.
        level = {"af-good": 0.01, "af-plain": 0.05, "relu": 0.04}[arm]
        value = level * (8.0 if arm == "relu" and seed % 5 == 0 else 1.0 + 0.1 * (seed % 3))
        return {"val_loss": value, "test_loss": value}

    result = confirm_study(
        store, "p", ConfirmOptions(top=2, seeds=5, against=("relu",)), runner=runner_of(loss, [])
    )
    good = next(v for v in result.verdicts if v.arm == "af-good")
    assert good.options["scale"] == "log" and "log" in good.options["test"]
    assert 0.05 < good.delta < 0.5  # a ratio, not a difference
    assert good.ci_low < good.delta < good.ci_high
    assert good.verdict == "better"
    values = [r.metric_value for r in confirm_runs("p", store) if r.arm == "relu"]
    mine = [r.metric_value for r in confirm_runs("p", store) if r.arm == "af-good"]
    assert compare(mine, values)["p_value"] > 0.05  # the arithmetic means would call it a tie
    assert good.mean == pytest.approx(math.exp(sum(map(math.log, [
        r.metric_value for r in confirm_runs("p", store) if r.arm == "af-good"
    ])) / 5))  # fmt: skip
    assert len(values) == 5


def test_scale_and_split_names() -> None:
    assert choose_scale("min", [0.1, 0.2]) == "log"
    assert choose_scale("min", [0.1, -0.2]) == "linear"
    assert choose_scale("max", [0.9, 0.8]) == "linear"
    assert split_metric("val_accuracy", "test") == "test_accuracy"
    assert split_metric("val_rel_l2", "test") == "test_rel_l2"
    assert split_metric("score", "test") == "test_score"
    assert split_metric("val_psnr", "val") == "val_psnr"
    linear = compare([0.9, 0.91, 0.92], [0.8, 0.81, 0.82])
    assert linear["delta"] == pytest.approx(0.1)
    ratio = compare([1.0, 2.0, 4.0], [4.0, 8.0, 16.0], "log")
    assert ratio["delta"] == pytest.approx(0.25)


def test_recipes_judge_the_winners_again(store: TrialStore) -> None:
    make_study(store)
    seen: list[SeedJob] = []
    recipe = {"name": "sgd", "optimizer": "sgd", "lr": 0.1, "batch_size": 16}
    options = ConfirmOptions(top=2, seeds=3, against=("relu",), recipes=(recipe,))
    result = confirm_study(store, "p", options, runner=runner_of(accuracy, seen))
    winners = [v.arm for v in result.verdicts if v.kind == "candidate" and v.verdict == "better"]
    assert winners == ["af-good", "af-plain"]  # relu at the task's lr is below both
    recipe_rows = [v for v in result.verdicts if v.kind == "recipe"]
    assert {v.arm for v in recipe_rows} == {"0:af-good", "0:af-plain", "0:relu"}
    assert all(v.options["recipe"] == "sgd" for v in recipe_rows)
    trained = [j for j in seen if j.key.kind == "recipe"]
    assert {j.settings.optimizer for j in trained} == {"sgd"}
    assert {j.settings.batch_size for j in trained} == {16}


def test_split_test_on_a_task_that_reports_no_test_metric_is_a_sentence(store: TrialStore) -> None:
    make_study(store)

    def no_test(arm: str, lr: float, seed: int) -> dict[str, float]:
        return {"val_accuracy": 0.9}

    with pytest.raises(AfsearchError, match=r"reported no 'test_accuracy'.*split: val"):
        confirm_study(
            store,
            "p",
            ConfirmOptions(top=1, seeds=2, against=("relu",)),
            runner=runner_of(no_test, []),
        )
