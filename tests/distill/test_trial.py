"""distill_trial on stored trials (real SQLite, written as a launch writes them): each site's
own learned values, sampled over the inputs it saw, and a sentence for each trial there is
nothing to distill from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from afsearch.activations import build, per_site_config
from afsearch.distill import DEFAULT_RANGE, distill_trial
from afsearch.distill._trial import FLOOR, GRID, WIDEN, density_weights
from afsearch.exceptions import AfsearchError
from afsearch.store import TrialStore
from afsearch.trial.inputs import INPUT_LEVELS, INPUT_QUANTILES, LEVELS
from tests.helpers import add_finished_trial, create_digits_study

#: A rational unit fitted to tanh: a learned activation whose formula is known.
TANH_PAU = build({"family": "rational", "init": "tanh"}).values
#: Quantiles of a standard normal input, and of one shifted to 1 with spread 0.5.
NORMAL = [-3.09, -2.33, -1.64, -0.674, 0.0, 0.674, 1.64, 2.33, 3.09]
NARROW = [1.0 + 0.5 * q for q in NORMAL]
FEW_OPS = ["x", "tanh", "sigmoid", "relu", "softplus"]


def _learned(sites: list[dict[str, float]], quantiles: list[list[float]] | None) -> dict:
    learned: dict[str, Any] = {
        "mean": {n: float(np.mean([s[n] for s in sites])) for n in sites[0]},
        "per_site": {n: [s[n] for s in sites] for n in sites[0]},
    }
    if quantiles is not None:
        learned |= {INPUT_LEVELS: list(LEVELS), INPUT_QUANTILES: quantiles}
    return learned


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Study s: #0 a rational learned as tanh at site 0 and as 2*tanh at site 1, #1 the same
    with no input range stored, #2 ReLU, #3 a rational that failed before an epoch, #4 a
    per-site trial (a rational at site 0, tanh at site 1)."""
    url = f"sqlite:///{tmp_path / 'd.db'}"
    twice = {n: (2.0 * v if n.startswith("a") else v) for n, v in TANH_PAU.items()}
    rational = {"family": "rational", "init": "tanh"}
    with TrialStore(url) as store:
        create_digits_study(store, "s", num_samples=5)
        add_finished_trial(
            store, "s", rational, value=0.9, number=0,
            learned_params=_learned([TANH_PAU, twice], [NORMAL, NARROW]),
        )  # fmt: skip
        add_finished_trial(
            store, "s", rational, value=0.9, number=1, learned_params=_learned([TANH_PAU], None)
        )
        add_finished_trial(store, "s", {"family": "standard", "name": "relu"}, value=0.8, number=2)
        _, failed = add_finished_trial(store, "s", rational, value=0.1, number=3)
        store.finish_trial(
            failed,
            status="failed",
            error="Traceback (most recent call last):\n  ...\nthe worker died",
        )
        sites = per_site_config([rational, {"family": "standard", "name": "tanh"}])
        learned = _learned([{f"site0.{n}": v for n, v in twice.items()}], [NARROW, NORMAL])
        add_finished_trial(store, "s", sites, value=0.9, number=4, learned_params=learned)
    return url


def test_each_site_is_distilled_with_its_own_values_over_its_own_inputs(db: str) -> None:
    first, second = distill_trial(db, "s/0", ops=FEW_OPS)
    assert (first.site, second.site, first.sites) == (0, 1, 2)
    assert first.seen == (NORMAL[0], NORMAL[-1]) and first.note is None
    margin = WIDEN * (NARROW[-1] - NARROW[0])
    assert second.sampled == pytest.approx((NARROW[0] - margin, NARROW[-1] + margin))
    assert len(first.x) == GRID
    for d, scale in ((first, 1.0), (second, 2.0)):
        top = max(d.formulas, key=lambda f: f.r2)
        assert top.r2 > 0.9999 and top.operators == ("tanh",), top
        np.testing.assert_allclose(top.values(d.x), scale * np.tanh(d.x), atol=0.01 * scale)
    # The densest inputs weigh most: the median of site 1 is at 1.
    assert abs(second.x[np.argmax(second.weights)] - 1.0) < 0.3


def test_one_site_alone(db: str) -> None:
    (only,) = distill_trial(db, "s/0", site=1, ops=FEW_OPS, top=1)
    assert only.site == 1 and len(only.formulas) == 1
    assert only.formulas[0].text == "2.0*tanh(x)"


def test_a_trial_without_input_ranges_is_sampled_on_the_default_range_with_a_note(
    db: str,
) -> None:
    (d,) = distill_trial(db, "s/1", ops=FEW_OPS)
    assert d.seen is None and d.sampled == DEFAULT_RANGE
    assert np.all(d.weights == 1.0)
    assert d.note is not None and "No input range was recorded for site 0 of trial s/1" in d.note


def test_a_per_site_trial_distills_its_learnable_site(db: str) -> None:
    (d,) = distill_trial(db, "s/4", ops=FEW_OPS)
    assert (d.site, d.sites) == (0, 2)
    assert d.seen == (NARROW[0], NARROW[-1])
    assert max(f.r2 for f in d.formulas) > 0.9999


@pytest.mark.parametrize(
    ("ref", "site", "message"),
    [
        ("s/2", None, "Trial s/2 trained Max(0, x), which has no learned parameters; distill"),
        ("s/3", None, "Trial s/3 stored no learned values (its status is failed: the worker"),
        ("s/0", 2, "site is 2, but trial s/0 has 2 activation sites (sites 0 to 1)."),
        ("s/0", -1, "site is -1, but trial s/0 has 2 activation sites"),
        ("s/4", 1, "Site 1 of trial s/4 trained tanh(x), which has no learned parameters; its "),
        ("s/9", None, "Study 's' has no trial number 9"),
    ],
)
def test_nothing_to_distill_is_one_sentence(
    db: str, ref: str, site: int | None, message: str
) -> None:
    with pytest.raises(AfsearchError) as info:
        distill_trial(db, ref, site, ops=FEW_OPS)
    assert message in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_density_weights_follow_the_quantiles() -> None:
    x = np.linspace(-3.5, 3.5, 701)
    w = density_weights(x, list(LEVELS), NORMAL)
    assert w.mean() == pytest.approx(1.0)
    assert np.all(w >= FLOOR)
    # About the normal density: highest at 0, falling away on both sides.
    assert abs(x[np.argmax(w)]) < 0.3
    assert w[350] > w[450] > w[550] and w[350] > w[250] > w[150]
    normal = np.exp(-(x**2) / 2)
    inside = np.abs(x) < 2.5
    assert np.corrcoef(w[inside], normal[inside])[0, 1] > 0.97
    # Repeated quantiles (inputs piled on one value) still give finite weights.
    piled = density_weights(x, list(LEVELS), [0.0] * 4 + [0.0, 0.5, 1.0, 2.0, 3.0])
    assert np.all(np.isfinite(piled)) and piled.mean() == pytest.approx(1.0)


def test_a_task_that_differentiates_its_activation_gets_smooth_operators_only() -> None:
    from types import SimpleNamespace

    from afsearch.compiler import candidate_record
    from afsearch.distill._trial import _task_ops
    from afsearch.tasks import get_task
    from afsearch.trial import TrialSpec

    def config(task: str) -> dict:
        activation = {"family": "slaf", "basis": "rbf", "degree": 4, "init": "tanh"}
        return TrialSpec(
            activation=activation,
            candidate=candidate_record(build(activation)),
            task=task,
            settings=get_task(task).default_settings,
            seeds=1,
            seed=0,
            metric="val_loss",
            mode="min",
            dedup_key="0" * 24,
        ).stored()

    ops, note = _task_ops(SimpleNamespace(config=config("pinn-poisson")))
    assert ops is not None and {"tanh", "sin", "gelu", "softplus"} <= set(ops)
    assert not {"relu", "abs", "sqrt", "log"} & set(ops)
    assert note is not None and "not relu, abs, sqrt, log" in note
    assert _task_ops(SimpleNamespace(config=config("teacher-student"))) == (None, None)
    assert _task_ops(SimpleNamespace(config={})) == (None, None)
