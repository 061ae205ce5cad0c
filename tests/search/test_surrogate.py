"""The prescreen's surrogate: ranks that survive heavy-tailed scores, a refit schedule that does
not change what a fit returns, and the acquisition in the model's units."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from afsearch.search import _surrogate
from afsearch.search._surrogate import acquire, fit_predict, normal_scores, refit_point
from afsearch.space import PrescreenOptions


def _problem(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features of 8 dimensions and a score that falls with the distance to a point; a tenth
    of the functions "do not train": their scores are a thousand times worse."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8))
    score = -np.linalg.norm(x[:, :4] - 0.5, axis=1)
    broken = rng.random(n) < 0.1
    return x, np.where(broken, score - 1000.0 * rng.random(n), score)


def test_normal_scores_keep_order_and_ignore_scale() -> None:
    y = np.array([3.0, -1e6, 2.0, 2.0, 10.0])
    z = normal_scores(y)
    assert list(np.argsort(z)) == list(np.argsort(y, kind="stable"))
    assert z[2] == z[3]  # ties share a score
    np.testing.assert_allclose(z, normal_scores(np.array([3.0, -5.0, 2.0, 2.0, 4.0])))
    assert abs(z.mean()) < 0.01


def test_refit_points_grow_by_a_quarter() -> None:
    assert [refit_point(n) for n in (1, 2, 10)] == [1, 2, 10]
    assert [refit_point(n) for n in (11, 12, 14, 15, 17, 18, 100)] == [10, 12, 12, 15, 15, 18, 97]
    points = sorted({refit_point(n) for n in range(11, 201)})
    assert len(points) == 15  # 10, 12, 15, 18, 22, ... 188


def test_ranks_held_out_functions_despite_functions_that_do_not_train() -> None:
    x, y = _problem(300)
    train, rest = slice(0, 100), slice(100, None)
    clean = -np.linalg.norm(x[rest, :4] - 0.5, axis=1)
    mean, std = fit_predict(x[train], y[train], x[rest])
    assert np.all(std > 0)
    # A model that explains the broken functions as noise predicts one value everywhere
    # (rho 0.07 on raw scores and features, before normal scores and bounds).
    assert spearmanr(mean, clean)[0] > 0.45


def test_a_cached_fit_equals_a_fresh_one() -> None:
    x, y = _problem(60, seed=1)
    _surrogate._fitted.clear()
    first = fit_predict(x[:40], y[:40], x[40:])
    assert len(_surrogate._fitted) == 1
    _surrogate._fitted.clear()
    fit_predict(x[:35], y[:35], x[40:])  # another study's fit in between
    again = fit_predict(x[:40], y[:40], x[40:])
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_hyperparameters_are_fitted_on_the_schedules_prefix() -> None:
    x, y = _problem(60, seed=2)
    _surrogate._fitted.clear()
    fit_predict(x[:15], y[:15], x[50:])  # refit point 15
    fit_predict(x[:17], y[:17], x[50:])  # the same point: no new fit
    assert len(_surrogate._fitted) == 1
    fit_predict(x[:18], y[:18], x[50:])
    assert len(_surrogate._fitted) == 2


@pytest.mark.parametrize("acquisition", ["ucb", "ei"])
def test_acquisition_prefers_the_predicted_best(acquisition: str) -> None:
    x, y = _problem(200, seed=3)
    clean = -np.linalg.norm(x[:, :4] - 0.5, axis=1)
    mean, std = fit_predict(x[:80], y[:80], x[80:])
    options = PrescreenOptions(acquisition=acquisition)
    score = acquire(mean, std, y[:80], options)
    assert np.all(np.isfinite(score))
    chosen = clean[80:][np.argsort(-score)[:10]]
    assert np.median(chosen) > np.quantile(clean[80:], 0.75)
