"""The Optuna private members afsearch reaches into still exist (fails loudly on a release that
moves them: update afsearch/search/_optuna_seams.py and its TESTED_WITH)."""

from __future__ import annotations

import pickle

import optuna

from afsearch.search._optuna_seams import TESTED_WITH, PicklableNSGAII, fix_params


def test_the_installed_optuna_is_one_the_seams_were_checked_against() -> None:
    assert ".".join(optuna.__version__.split(".")[:2]) in TESTED_WITH, optuna.__version__


def test_an_asked_trial_suggests_the_fixed_params() -> None:
    study = optuna.create_study()
    trial = study.ask()
    assert isinstance(trial._fixed_params, dict)  # the member fix_params writes
    fix_params(trial, {"x": 0.25})
    assert trial.suggest_float("x", 0.0, 1.0) == 0.25


def test_the_nsga2_sampler_pickles_and_keeps_its_lock() -> None:
    sampler = PicklableNSGAII(seed=0)
    assert hasattr(sampler, "_thread_lock")
    again = pickle.loads(pickle.dumps(sampler))
    assert again._thread_lock is not sampler._thread_lock
