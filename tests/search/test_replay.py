"""Replaying strategies on a table of trained functions: a synthetic table written here, read
back through the table's reader, every strategy run on it as look-ups."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from afsearch.activations import random_suggester, sample_family
from afsearch.exceptions import AfsearchError
from afsearch.search import (
    TABLE_COLUMNS,
    ReplayAsha,
    ReplayRun,
    ReplayTable,
    ReplayTrial,
    epochs_until,
    reached,
    read_table,
    regret,
    replay,
    replay_space,
    write_table,
)
from afsearch.search._snap import Snapper
from afsearch.space import parse_space

FAMILIES = [
    {
        "family": "grammar",
        "depth": 1,
        "unary": ["x", "tanh", "sigmoid", "relu", "sin"],
        "binary": ["add", "mul", "max"],
    },
    {"family": "swish", "beta": {"low": 0.25, "high": 4.0, "log": True}},
]
EPOCHS = 9
SEEDS = (0, 1)
EVOLUTION = {"population": 6, "tournament": 3, "initial": ["relu", "gelu", "silu"]}
PRESCREEN = {"anchors": ["relu", "gelu", "silu"], "proposals": 4, "features": ["outputs"]}
SAMPLERS = ("random", "tpe", "evolution", "prescreen", "tpe+prescreen", "evolution+prescreen")


def _value(config: dict, seed: int) -> float:
    """A synthetic accuracy: swish best at beta = 2, trees by a hash of their operators."""
    if config["family"] == "swish":
        base = 0.9 - 0.05 * (math.log(config["beta"]) - math.log(2.0)) ** 2
    elif config["family"] == "standard":
        base = {"relu": 0.85, "gelu": 0.86, "silu": 0.87}[config["name"]]
    else:
        base = 0.5 + 0.35 * random.Random(json.dumps(config, sort_keys=True)).random()
    return base + 0.001 * seed


def _configs() -> list[dict]:
    space = parse_space({"name": "t", "task": "digits-mlp", "families": FAMILIES})
    rng = random.Random(0)
    out = [{"family": "standard", "name": n} for n in ("relu", "gelu", "silu")]
    seen = {json.dumps(c, sort_keys=True) for c in out}
    while len(out) < 60:
        fs = rng.choice(space.families)
        config = sample_family(fs, random_suggester(rng), fs.label)
        key = json.dumps(config, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(config)
    return out


#: The function that diverges on every seed.
DIVERGES = 5


def _rows(configs: list[dict]) -> list[dict]:
    rows = []
    for i, config in enumerate(configs):
        for seed in SEEDS:
            value = _value(config, seed)
            curve = [value * (1 - 0.5**epoch) for epoch in range(1, EPOCHS)] + [value]
            diverged = i == DIVERGES
            if diverged:
                curve = [*curve[:2], float("nan")]
            row = {c: None for c in TABLE_COLUMNS}
            row.update(
                function=i,
                activation_id=f"af-{i:016x}",
                kind="standard" if config["family"] == "standard" else config["family"],
                family=config["family"],
                config=json.dumps(config, sort_keys=True),
                expression="x",
                trainable_params=0,
                task="digits-mlp",
                epochs=EPOCHS,
                metric="val_accuracy",
                mode="max",
                seed=seed,
                value=None if diverged else value,
                curve=curve,
                diverged=diverged,
                seconds=0.1,
                cost_time=1.0,
                cost_memory=1.0,
                # The prescreen's features: the metric itself and noise, so a surrogate can
                # learn from them.
                features=[value, *np.random.default_rng(i).normal(size=5).tolist()],
                init_screen="not measured",
            )
            rows.append(row)
    return rows


@pytest.fixture(scope="module")
def table_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("table") / "table.parquet"
    meta = {"families": FAMILIES, "tasks": {"digits-mlp": {"metric": "val_accuracy"}}}
    return write_table(_rows(_configs()), path, meta)


@pytest.fixture(scope="module")
def table(table_file: Path) -> ReplayTable:
    frame, meta = read_table(table_file)
    return ReplayTable.from_frame(frame, meta, "digits-mlp")


def _space(table: ReplayTable, sampler: str, budget: int):
    options = EVOLUTION if sampler.startswith("evolution") else None
    return replay_space(table, sampler, budget=budget, sampler_options=options, prescreen=PRESCREEN)


def test_the_table_reads_back(table: ReplayTable) -> None:
    assert len(table.configs) == 60
    assert table.values.shape == (60, 2) and table.curves.shape == (60, 2, EPOCHS)
    assert table.values[10, 1] == pytest.approx(_value(table.configs[10], 1))
    assert np.isnan(table.values[DIVERGES]).all() and table.truth[DIVERGES] == -np.inf
    assert table.init is None  # no init signal in this table: the prescreen uses outputs only


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_trial_is_a_distinct_table_function_looked_up(
    table: ReplayTable, sampler: str
) -> None:
    run = replay(table, _space(table, sampler, 20), seed=3)
    rows = [t.row for t in run.trials]
    assert len(rows) == 20 and len(set(rows)) == 20
    column = 3 % len(SEEDS)
    for t in run.trials:
        expected = table.values[t.row, column]
        if np.isnan(expected):
            assert t.value is None
        else:
            assert t.value == pytest.approx(expected) and t.completed and t.epochs == EPOCHS


def test_a_replay_repeats_itself(table: ReplayTable) -> None:
    space = _space(table, "tpe", 25)
    first = [t.row for t in replay(table, space, seed=7).trials]
    assert first == [t.row for t in replay(table, space, seed=7).trials]
    assert first != [t.row for t in replay(table, space, seed=8).trials]


def test_evolution_starts_from_its_initial_functions(table: ReplayTable) -> None:
    run = replay(table, _space(table, "evolution", 10), seed=0)
    assert [table.configs[t.row] for t in run.trials[:3]] == [
        {"family": "standard", "name": n} for n in ("relu", "gelu", "silu")
    ]


def test_the_whole_table_reaches_the_best_and_regret_ends_at_zero(table: ReplayTable) -> None:
    run = replay(table, _space(table, "random", 60), seed=0)
    # The standard functions are in the table, not in the space: random search never draws them,
    # and once the space's 57 are tried it proposes only repeats, until its patience ends.
    assert sorted(t.row for t in run.trials) == list(range(3, 60))
    assert run.skipped >= 50 and "repeated known functions" in str(run.stop_reason)
    best = table.top(0.001)
    assert len(best) == 1 and reached(run, best) is not None
    curve = regret(run, table)
    assert curve[-1] == pytest.approx(0.0)
    assert np.all(np.diff(curve[~np.isnan(curve)]) <= 1e-12)  # the study's best only improves


@pytest.mark.slow
def test_a_surrogate_on_informative_features_beats_random(
    table: ReplayTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    import afsearch.search._prescreen as prescreen

    def measured(config: dict) -> str:
        raise AssertionError(f"the replay measured {config} instead of reading the table")

    monkeypatch.setattr(prescreen, "features", measured)
    top = table.top(0.05)
    found = {}
    for sampler in ("random", "prescreen"):
        space = _space(table, sampler, 30)
        hits = [reached(replay(table, space, seed=s), top) for s in range(5)]
        found[sampler] = np.median([31 if h is None else h for h in hits])
    assert found["prescreen"] < found["random"]


def test_asha_stops_trials_at_its_rungs(table: ReplayTable) -> None:
    asha = ReplayAsha(grace_period=1, reduction_factor=3)
    assert asha.rungs(EPOCHS) == [1, 3]
    run = replay(table, _space(table, "random", 40), seed=0, asha=asha)
    stopped = [t for t in run.trials if not t.completed and t.value is not None]
    assert stopped and {t.epochs for t in stopped} <= {1, 3}
    assert run.trials[0].completed  # nothing recorded yet at its rungs
    assert epochs_until(run, 40) < 40 * EPOCHS
    # The same trials without the scheduler all complete.
    plain = replay(table, _space(table, "random", 40), seed=0)
    assert all(t.completed for t in plain.trials if t.value is not None)


def test_a_diverged_function_is_a_failed_trial(table: ReplayTable) -> None:
    run = replay(table, _space(table, "random", 57), seed=0)
    (trial,) = [t for t in run.trials if t.row == DIVERGES]
    assert trial.value is None and not trial.completed and trial.epochs == 3
    assert DIVERGES not in table.top(0.5)


def test_regret_follows_the_best_value_told() -> None:
    table = ReplayTable(
        "t", "val_loss", "min", [], [{}] * 3, ["a", "b", "c"],
        np.array([[0.3], [0.1], [0.2]]), np.zeros((3, 1, 1)), ["x"] * 3,
    )  # fmt: skip
    run = ReplayRun(
        [
            ReplayTrial(0, 0.3, 1, True),
            ReplayTrial(2, 0.15, 1, False),  # stopped early: never the study's best
            ReplayTrial(2, 0.2, 1, True),
            ReplayTrial(1, 0.25, 1, True),  # told worse than it is: not chosen
        ]
    )
    assert regret(run, table) == pytest.approx([0.2, 0.2, 0.1, 0.1])
    assert table.top(0.34) == {1, 2} and table.top(0.01) == {1}
    assert reached(run, {1}) == 4 and reached(run, {2}) == 3


def test_the_snapper_maps_to_the_nearest_untried_function() -> None:
    configs = [
        {"family": "swish", "beta": 0.5},
        {"family": "swish", "beta": 1.0},
        {"family": "swish", "beta": 3.0},
        {"family": "grammar", "unit": {"binary": "mul", "left": "x", "right": "sigmoid"}},
        {"family": "grammar", "unit": {"binary": "add", "left": "tanh", "right": "relu"}},
    ]
    snapper = Snapper(configs, seed=0)
    tried = np.zeros(len(configs), dtype=bool)
    assert snapper.snap(configs[2], tried) == 2
    assert snapper.snap({"family": "swish", "beta": 1.2}, tried) == 1
    tried[1] = True
    assert snapper.snap({"family": "swish", "beta": 1.2}, tried) == 0  # log scale: 0.5 is nearer
    near = {"family": "grammar", "unit": {"binary": "mul", "left": "x", "right": "tanh"}}
    assert snapper.snap(near, tried) == 3
    tried[:3] = True
    assert snapper.snap({"family": "swish", "beta": 1.2}, tried) == 1  # all tried: a repeat
    assert snapper.snap({"family": "elu", "alpha": 1.0}, tried) in (3, 4)  # no elu: an open row


def test_the_reader_refuses_what_is_not_a_table(tmp_path: Path, table_file: Path) -> None:
    with pytest.raises(AfsearchError, match="There is no table at"):
        read_table(tmp_path / "missing.parquet")
    (tmp_path / "text.parquet").write_text("not parquet")
    with pytest.raises(AfsearchError, match="is not a Parquet table"):
        read_table(tmp_path / "text.parquet")
    frame, meta = read_table(table_file)
    with pytest.raises(AfsearchError, match="no rows of task 'mnist1d-mlp'; its tasks are digits"):
        ReplayTable.from_frame(frame, meta, "mnist1d-mlp")
    with pytest.raises(AfsearchError, match="lacks 'activation_id'"):
        write_table([{"function": 0}], tmp_path / "t.parquet", {})
