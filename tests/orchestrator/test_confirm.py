"""The confirm stage of launch: a real small search on local Ray, a real SQLite database.

The statistics stored are checked against scipy on the stored numbers, the study's best against
the confirmed best, and a resume after an interrupted confirmation trains only what is missing.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
import yaml
from scipy import stats
from sqlalchemy import delete, select

from afsearch.confirm import plan
from afsearch.exceptions import AfsearchError
from afsearch.orchestrator import (
    ConfirmRunFinished,
    ConfirmStarted,
    LaunchObserver,
    launch,
)
from afsearch.results import export_trial
from afsearch.space import ConfirmOptions
from afsearch.store import (
    TrialStore,
    confirm_runs,
    confirmation,
    get_study,
    studies,
    study_best,
    trials,
)
from afsearch.store._models import ConfirmRunModel, ConfirmVerdictModel
from afsearch.trial import TrialSpec

pytestmark = pytest.mark.slow

CONFIRM = {"top": 2, "seeds": 3, "against": ["relu", "tanh"]}


def write_space(path: Path, **confirm: object) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "task": {
                    "name": "digits-mlp",
                    "epochs": 1,
                    "batch_size": 128,
                    "options": {"width": 8, "depth": 1},
                },
                "scheduler": "none",
                "sampler": "random",
                "num_samples": 3,
                "max_concurrent": 2,
                "families": [
                    {"family": "swish", "beta": {"low": 0.5, "high": 2.0}},
                    {"family": "prelu", "a": {"low": 0.0, "high": 0.3}},
                ],
                "confirm": {**CONFIRM, **confirm},
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def confirmed(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    tmp = tmp_path_factory.mktemp("confirm")
    url = f"sqlite:///{tmp / 'c.db'}"
    space = write_space(tmp / "s.yaml")
    seen = Seen()
    result = launch(space, study="c", url=url, runs_dir=tmp / "runs", observer=seen)
    assert result.status == "completed"
    assert result.confirmation is not None
    assert (result.confirmation.trained, result.confirmation.reused) == (12, 0)
    # The observer hears the stage start and each of its trainings end.
    (started,) = seen.started
    assert (started.seeds, started.to_train, started.total) == (3, 12, 12)
    assert started.baselines == ("relu", "tanh") and len(started.candidates) == 2
    assert [e.done for e in seen.runs] == list(range(1, 13))
    names = {f"#{n}" for n in started.candidates} | {"relu", "tanh"}
    assert {e.name for e in seen.runs} == names
    return url, space


class Seen(LaunchObserver):
    def __init__(self) -> None:
        self.started: list[ConfirmStarted] = []
        self.runs: list[ConfirmRunFinished] = []

    def confirm_started(self, event: ConfirmStarted) -> None:
        self.started.append(event)

    def confirm_run_finished(self, event: ConfirmRunFinished) -> None:
        self.runs.append(event)


def values(url: str, kind: str, arm: str) -> list[float]:
    return [
        r.metric_value
        for r in confirm_runs("c", url)
        if (r.kind, r.arm) == (kind, arm) and r.metric_value is not None
    ]


def test_the_top_candidates_and_baselines_train_on_fresh_seeds(confirmed: tuple[str, Path]):
    url, _ = confirmed
    rows = trials("c", url)
    runs = confirm_runs("c", url)
    assert len(runs) == (2 + 2) * 3
    search_seeds = {s for t in rows for s in TrialSpec.from_dict(t.config).training_seeds}
    fresh = {r.seed for r in runs}
    assert len(fresh) == 3 and not fresh & search_seeds
    # The two best distinct candidates of the search, by its single-seed metric.
    by_metric = sorted(rows, key=lambda t: -(t.metric_value or 0))
    top = list(dict.fromkeys(t.activation_id for t in by_metric))[:2]
    assert {r.arm for r in runs if r.kind == "candidate"} == set(top)
    assert {r.arm for r in runs if r.kind == "baseline"} == {"relu", "tanh"}
    for r in runs:
        assert r.metric_value is not None and 0.0 <= r.metric_value <= 1.0 and not r.diverged
        # Judged on the test split; both splits are stored.
        assert set(r.metrics["test"]) == {"test_loss", "test_accuracy"}
        assert {"val_loss", "val_accuracy"} <= set(r.metrics["val"])
        assert r.metric_value == r.metrics["test"]["test_accuracy"]
        assert (r.metrics["split"], r.metrics["lr_factor"]) == ("test", 1.0)


def test_verdicts_are_welch_and_holm_on_the_stored_numbers(confirmed: tuple[str, Path]):
    url, _ = confirmed
    verdicts = confirmation("c", url)
    assert [v.kind for v in verdicts] == ["candidate", "candidate", "baseline", "baseline"]
    base = {v.arm: values(url, "baseline", v.arm) for v in verdicts if v.kind == "baseline"}
    best = max(base, key=lambda name: statistics.fmean(base[name]))
    p_values = []
    for v in verdicts[:2]:
        mine = values(url, "candidate", v.arm)
        assert v.n == 3 and v.baseline == best
        assert v.mean == pytest.approx(statistics.fmean(mine))
        assert v.std == pytest.approx(statistics.stdev(mine))
        ref = stats.ttest_ind(mine, base[best], equal_var=False)
        assert (v.t, v.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-9)
        ci = ref.confidence_interval(0.95)
        assert v.delta == pytest.approx(statistics.fmean(mine) - statistics.fmean(base[best]))
        assert (v.ci_low, v.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
        assert v.verdict in ("better", "worse", "tie")
        assert (v.verdict == "tie") == (v.p_holm >= 0.05)
        p_values.append(v.p_value)
    # Holm over the two comparisons: the smaller p doubled, the larger kept (never below it).
    low, high = sorted(p_values)
    want = {low: min(1.0, 2 * low), high: min(1.0, max(2 * low, high))}
    assert [v.p_holm for v in verdicts[:2]] == pytest.approx([want[p] for p in p_values])
    for v in verdicts[2:]:
        assert v.verdict == "baseline" and v.p_value is None
        assert v.mean == pytest.approx(statistics.fmean(base[v.arm]))


def test_the_best_is_the_confirmed_best(confirmed: tuple[str, Path], tmp_path: Path):
    url, _ = confirmed
    first = confirmation("c", url)[0]
    assert first.rank == 1
    assert first.mean == max(v.mean for v in confirmation("c", url) if v.kind == "candidate")
    best = study_best("c", url)
    assert best is not None and best.id == first.trial_id
    exported = export_trial(None, url, study="c", out_dir=tmp_path)
    assert f"Trial{best.number}" in exported.module_path.name
    summary = {s.name: s for s in studies(url)}["c"]
    assert summary.confirmed_trial == best.number and summary.confirmed_mean == first.mean
    assert get_study("c", url).status.value == "completed"


def test_top_above_the_finished_candidates_is_one_sentence(confirmed: tuple[str, Path]):
    url, _ = confirmed
    with TrialStore(url) as store, pytest.raises(AfsearchError) as info:
        plan(store, "c", ConfirmOptions(top=5, seeds=2))
    assert str(info.value).startswith(
        "top of confirm is 5, but study 'c' has only 3 finished distinct candidates; lower it"
    )


def test_a_resume_trains_only_the_missing_runs(confirmed: tuple[str, Path], tmp_path: Path):
    url, space = confirmed
    kept_before = {(r.kind, r.arm, r.seed): (r.id, r.created_at) for r in confirm_runs("c", url)}
    # An interrupted confirmation: tanh never ran, one candidate's last seed neither, no verdicts.
    candidate = confirmation("c", url)[1].arm
    last_seed = max(seed for _, _, seed in kept_before)
    with TrialStore(url) as store, store.engine.begin() as connection:
        gone = connection.execute(
            delete(ConfirmRunModel).where(
                (ConfirmRunModel.arm == "tanh")
                | ((ConfirmRunModel.arm == candidate) & (ConfirmRunModel.seed == last_seed))
            )
        ).rowcount
        connection.execute(delete(ConfirmVerdictModel))
        assert connection.execute(select(ConfirmVerdictModel.id)).first() is None
    assert gone == 4 and confirmation("c", url) == []
    # A top above the finished candidates stops the stage before it trains, and the study can
    # be resumed once the space asks for fewer.
    too_many = write_space(tmp_path / "top5.yaml", top=5)
    with pytest.raises(AfsearchError, match="top of confirm is 5, but study 'c' has only 3"):
        launch(too_many, study="c", url=url, runs_dir=tmp_path / "runs",
               resume=True)  # fmt: skip
    assert get_study("c", url).status.value == "failed"
    assert len(confirm_runs("c", url)) == 8
    seen = Seen()
    result = launch(
        space,
        study="c",
        url=url,
        runs_dir=tmp_path / "runs",
        resume=True,
        observer=seen,
    )
    assert result.confirmation is not None
    assert (result.confirmation.trained, result.confirmation.reused) == (4, 8)
    assert (seen.started[0].to_train, seen.started[0].total, len(seen.runs)) == (4, 12, 4)
    after = {(r.kind, r.arm, r.seed): (r.id, r.created_at) for r in confirm_runs("c", url)}
    assert after.keys() == kept_before.keys()
    for key, (run_id, created) in after.items():
        retrained = key[1] == "tanh" or (key[1] == candidate and key[2] == last_seed)
        if retrained:
            assert (run_id, created) != kept_before[key]
        else:
            assert (run_id, created) == kept_before[key]
    assert len(trials("c", url)) == 3  # the search itself did not run again
    verdicts = confirmation("c", url)
    assert len(verdicts) == 4 and all(not math.isnan(v.mean or math.nan) for v in verdicts)
    assert get_study("c", url).status.value == "completed"


def test_the_cli_shows_the_confirmation(confirmed: tuple[str, Path], tmp_path: Path):
    from typer.testing import CliRunner

    from afsearch.cli import app

    url, _ = confirmed
    best = study_best("c", url)
    assert best is not None
    runner = CliRunner()
    board = runner.invoke(app, ["trials", "--db", url, "--top", "1"]).output
    assert f"#{best.number}" in board and "★" in board and "Holm p" in board
    shown = runner.invoke(app, ["show", f"c/{best.number}", "--db", url]).output
    assert "(the study's confirmed best)" in shown and "Holm p" in shown
    listed = runner.invoke(app, ["studies", "--db", url]).output
    assert f"#{best.number} " in listed
