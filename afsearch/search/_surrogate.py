"""The prescreen's surrogate: a Gaussian process from training-free features to a trial's score.

A Gaussian process because the prescreen must say how sure it is (the acquisition trades the
predicted score against that); with a few hundred trained points at most it is exact and fits
in milliseconds, and a Matern kernel with a noise term tolerates the seed-to-seed noise of
trained metrics. scikit-learn's ``GaussianProcessRegressor`` does the work; what this module
adds is what makes it hold up on real studies (measured on the table of trained functions,
the rank correlation ``benchmarks/bench_samplers.py --table`` reports):

- **Scores as normal scores.** A study's scores are heavy-tailed: a function that barely
  trains has a loss hundreds of times the best one's, an accuracy at chance. Fitted on raw
  scores, the likelihood explains the tail as noise and the model predicts the mean everywhere.
  The scores are replaced by their ranks mapped through the normal quantile function, so the
  model learns the order, the only thing a search acts on. The means and standard deviations
  returned are in those units; :func:`acquire` takes the scores' normal scores to match.
- **Features on a signed-log scale**, then standardised and clipped: values and slopes of
  exponential-like functions otherwise stretch a feature's scale until every other function
  sits at one point.
- **Bounded hyperparameters.** Left free, the length scale fell to its lower bound of 1e-5
  (the model then knows nothing beyond its training points) and the signal variance to zero
  (all noise), each a likelihood optimum the optimiser reached on 100 trained functions.
- **Hyperparameters refitted on a schedule.** Optimising the kernel is 90% of a fit's time;
  a study of 100 trials refits them on the first 2-10 scores and then each time the scores
  grow by a quarter (:func:`refit_point`), fitted on that prefix of the scores so the result
  does not depend on whether an earlier fit is cached.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from afsearch.space import PrescreenOptions

#: Standardised features are clipped here: a feature far outside the trials would dominate.
CLIP = 10.0
#: Bounds of the length scale, times the square root of the features' dimension.
LENGTH_BOUNDS = (0.3, 100.0)
#: Bounds of the signal and the noise variance, for scores of unit variance.
SIGNAL_BOUNDS = (0.05, 20.0)
NOISE_BOUNDS = (1e-4, 1.0)
#: Up to this many scores the hyperparameters are refitted on every call.
REFIT_EVERY_UP_TO = 10
#: After that, when the scores have grown by this factor since the last refit.
REFIT_GROWTH = 1.25
#: Fitted hyperparameters kept, by the data they were fitted on.
_CACHE_SIZE = 64
_fitted: OrderedDict[bytes, Any] = OrderedDict()


def normal_scores(y: np.ndarray) -> np.ndarray:
    """``y``'s ranks (ties averaged) mapped through the normal quantile function."""
    from scipy.stats import norm, rankdata

    y = np.asarray(y, dtype=float)
    return np.asarray(norm.ppf((rankdata(y) - 0.5) / len(y)))


def signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def refit_point(n: int) -> int:
    """How many of ``n`` scores the kernel's hyperparameters are fitted on: all of them up to
    :data:`REFIT_EVERY_UP_TO`, then the last point of the schedule 10, 12, 15, 18, 22, ... (each
    a quarter more than the one before) not above ``n``."""
    if n <= REFIT_EVERY_UP_TO:
        return n
    m = REFIT_EVERY_UP_TO
    while math.floor(m * REFIT_GROWTH) <= n:
        m = math.floor(m * REFIT_GROWTH)
    return m


def _scaled(x: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    x = signed_log(x)
    centre, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    return [np.clip((a - centre) / scale, -CLIP, CLIP) for a in (x, *map(signed_log, others))]


def _kernel(dim: int) -> Any:
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    root = math.sqrt(dim)
    length = Matern(
        length_scale=root,
        length_scale_bounds=(LENGTH_BOUNDS[0] * root, LENGTH_BOUNDS[1] * root),
        nu=2.5,
    )
    return ConstantKernel(1.0, SIGNAL_BOUNDS) * length + WhiteKernel(1e-2, NOISE_BOUNDS)


def _regressor(kernel: Any, optimise: bool) -> Any:
    from sklearn.gaussian_process import GaussianProcessRegressor

    return GaussianProcessRegressor(
        kernel=kernel,
        normalize_y=True,
        random_state=0,
        optimizer="fmin_l_bfgs_b" if optimise else None,
    )


def _hyperparameters(x: np.ndarray, y: np.ndarray) -> Any:
    """The kernel fitted on the first :func:`refit_point` of the scores (cached by them)."""
    from sklearn.exceptions import ConvergenceWarning

    m = refit_point(len(y))
    xs = _scaled(x[:m])[0]
    z = normal_scores(y[:m])
    key = hashlib.sha1(xs.tobytes() + z.tobytes()).digest()
    if key in _fitted:
        _fitted.move_to_end(key)
        return _fitted[key]
    gp = _regressor(_kernel(x.shape[1]), optimise=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(xs, z)
    _fitted[key] = gp.kernel_
    while len(_fitted) > _CACHE_SIZE:
        _fitted.popitem(last=False)
    return gp.kernel_


def fit_predict(
    x: np.ndarray, y: np.ndarray, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The predicted mean and standard deviation, in normal scores of ``y`` (see the module
    docstring), at each candidate; ``x`` are the trained functions' features in the order
    they were scored."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    kernel = _hyperparameters(x, y)
    xs, cs = _scaled(x, np.asarray(candidates, dtype=float))
    gp = _regressor(kernel, optimise=False)
    gp.fit(xs, normal_scores(y))
    mean, std = gp.predict(cs, return_std=True)
    return np.asarray(mean), np.asarray(std)


def acquire(
    mean: np.ndarray, std: np.ndarray, observed: np.ndarray, options: PrescreenOptions
) -> np.ndarray:
    """Upper confidence bound, or expected improvement over the best ``observed`` score
    (raw scores: compared in their normal scores, the units of :func:`fit_predict`)."""
    if options.acquisition == "ucb":
        return mean + options.kappa * std
    from scipy.stats import norm

    best = float(np.max(normal_scores(observed)))
    safe = np.maximum(std, 1e-12)
    z = (mean - best) / safe
    return (mean - best) * norm.cdf(z) + safe * norm.pdf(z)
