"""Pareto ranks: non-dominated sorting over a study's objectives, each with its mode."""

from __future__ import annotations

from afsearch.results._pareto import objectives_of, pareto_ranks


def test_the_front_is_rank_one_and_each_next_front_one_more() -> None:
    # accuracy (max), cost (min)
    values = [[0.9, 2.0], [0.8, 1.0], [0.85, 3.0], [0.7, 1.5], None, [0.9, 2.0], [0.6, None]]
    ranks = pareto_ranks(values, ["max", "min"])
    assert ranks == [1, 1, 2, 2, None, 1, None]


def test_the_modes_decide_what_dominates() -> None:
    values = [[1.0, 1.0], [2.0, 2.0]]
    assert pareto_ranks(values, ["max", "max"]) == [2, 1]
    assert pareto_ranks(values, ["min", "min"]) == [1, 2]
    assert pareto_ranks(values, ["max", "min"]) == [1, 1]


def test_objectives_are_read_from_a_stored_space_in_either_form() -> None:
    space = {"objectives": [{"metric": "val_accuracy", "mode": "max"}, ["activation_cost", "min"]]}
    assert objectives_of(space) == [("val_accuracy", "max"), ("activation_cost", "min")]
    assert objectives_of({}) == [] and objectives_of(None) == []
