"""The confirm stage leaves out the baselines its task refuses (a PINN and ReLU or ELU) instead
of failing on them; no Ray: the plan of a study written to a real SQLite database."""

from __future__ import annotations

from pathlib import Path

from afsearch.activations import build
from afsearch.compiler import candidate_record
from afsearch.confirm import BASELINE, plan, refused_baselines
from afsearch.space import ConfirmOptions
from afsearch.store import TrialStatus, TrialStore
from afsearch.tasks import get_task
from afsearch.trial import TrialSpec

SIX = ("relu", "gelu", "silu", "mish", "elu", "tanh")


def test_a_pinn_refuses_relu_and_elu_with_the_tasks_sentence():
    refused = refused_baselines("pinn-poisson", None, SIX)
    assert sorted(refused) == ["elu", "relu"]
    assert "takes 2 derivatives" in refused["relu"]
    assert refused_baselines("digits-mlp", None, SIX) == {}


def study_with_two_trials(tmp_path: Path, task: str) -> TrialStore:
    store = TrialStore(f"sqlite:///{tmp_path / 'r.db'}")
    t = get_task(task)
    store.create_study(
        "p",
        space={},
        task=task,
        metric=t.metric,
        mode=t.mode,
        sampler="random",
        scheduler="none",
        num_samples=2,
    )
    for number, name in enumerate(["tanh", "gelu"]):
        activation = {"family": "standard", "name": name}
        record = candidate_record(build(activation))
        spec = TrialSpec(
            activation=activation,
            candidate=record,
            task=task,
            settings=type(t).default_settings,
            seeds=1,
            seed=number,
            metric=t.metric,
            mode=t.mode,
            dedup_key=record["id"],
        )
        store.upsert_activation(
            record["id"],
            expression=record["expression"],
            srepr=record["srepr"],
            latex=record["latex"],
            family="standard",
        )
        trial_id = store.start_trial(
            "p",
            tune_trial_id=f"t{number}",
            number=number,
            config=spec.to_dict(),
            activation_id=record["id"],
            dedup_key=record["id"],
        )
        store.finish_trial(trial_id, status=TrialStatus.COMPLETED, metric_value=0.1 * (number + 1))
    return store


def test_the_plan_of_a_pinn_study_leaves_the_refused_baselines_out(tmp_path: Path):
    store = study_with_two_trials(tmp_path, "pinn-poisson")
    arms, seeds = plan(store, "p", ConfirmOptions(top=2, seeds=3, against=SIX))
    assert [a.arm for a in arms if a.kind == BASELINE] == ["gelu", "silu", "mish", "tanh"]
    assert len([a for a in arms if a.kind != BASELINE]) == 2
    assert len(seeds) == 3
