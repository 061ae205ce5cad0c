"""``sampler: evolution``: initial population, tournaments of the recent trials, children by
family mutation, options checked; and a real launch whose resume rebuilds the population."""

from __future__ import annotations

import random
from pathlib import Path

import optuna
import pytest
import yaml

from afsearch.activations import MUTATIONS, parse_family_space
from afsearch.domains import Where
from afsearch.exceptions import AfsearchError
from afsearch.orchestrator import launch
from afsearch.search import Evolution, EvolutionOptions, Scored
from afsearch.store import get_study, trials
from afsearch.trial.attrs import EVOLVED

SWISH = parse_family_space(
    {"family": "swish", "beta": {"low": 0.5, "high": 4.0, "log": True}}, Where("t.yaml")
)


def test_initial_names_then_random_draws_then_children_of_the_best() -> None:
    evo = Evolution([SWISH], EvolutionOptions(population=3, tournament=3, initial=("relu",)))
    rng = random.Random(0)
    assert evo.propose(rng, 0, []) == {"family": "standard", "name": "relu"}
    assert evo.propose(rng, 1, [])["family"] == "swish"  # filling the population
    history = [
        Scored({"family": "swish", "beta": 0.6}, 0.1),
        Scored({"family": "swish", "beta": 3.0}, 0.9),
        Scored({"family": "swish", "beta": 1.0}, 0.5),
    ]
    children = [evo.propose(random.Random(i), 3, history) for i in range(40)]
    # With the whole population in the tournament the parent is the best: children are near it.
    betas = sorted(c["beta"] for c in children if c.get("family") == "swish")
    assert betas[len(betas) // 2] > 1.5, betas


def test_aging_forgets_old_members() -> None:
    evo = Evolution([SWISH], EvolutionOptions(population=2, tournament=2, fresh=0.0))
    old_best = Scored({"family": "swish", "beta": 3.9}, 1.0)
    recent = [Scored({"family": "swish", "beta": 0.55}, 0.2)] * 2
    children = [evo.propose(random.Random(i), 10, [old_best, *recent]) for i in range(30)]
    assert max(c["beta"] for c in children) < 3.0


def test_a_named_starting_point_outside_the_space_is_followed_by_a_draw() -> None:
    evo = Evolution([SWISH], EvolutionOptions(population=2, tournament=1, fresh=0.0))
    history = [Scored({"family": "standard", "name": "relu"}, 1.0)] * 2
    assert evo.propose(random.Random(0), 5, history)["family"] == "swish"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"populaton": 4}, ["no option 'populaton'", "'population'"]),
        ({"population": 1}, ["population", "at least 2", "1"]),
        ({"population": 4, "tournament": 5}, ["tournament", "1 to the population (4)"]),
        ({"initial": ["relu", "gleu"]}, ["'gleu'", "not a standard activation"]),
        ({"fresh": 2}, ["fresh", "0 to 1"]),
        ({"mutations": ["insert"]}, ["mutations", "mapping of kinds", "['insert']"]),
        ({"mutations": {"grow": 1}}, ["'grow'", "not a kind of mutation", "'insert'"]),
        ({"mutations": {"insert": -1}}, ["weight of mutation 'insert'", "at least 0", "-1"]),
        ({"mutations": dict.fromkeys(MUTATIONS, 0)}, ["every kind 0", "positive weight"]),
    ],
)
def test_bad_options_are_refused_in_one_sentence(options: dict, words: list[str]) -> None:
    with pytest.raises(AfsearchError) as info:
        EvolutionOptions.parse(options)
    for word in words:
        assert word in str(info.value)


@pytest.mark.slow
def test_an_evolution_launch_evolves_and_resumes_from_the_database(
    ray_local, tmp_path: Path
) -> None:
    space = tmp_path / "evo.yaml"
    data = {
        "task": {"name": "digits-mlp", "epochs": 1, "options": {"width": 8}},
        "sampler": "evolution",
        "sampler_options": {"population": 3, "tournament": 2, "initial": ["relu"]},
        "scheduler": "none",
        "num_samples": 5,
        "max_concurrent": 1,
        "families": [
            {
                "family": "grammar",
                "depth": [1, 2],
                "unary": ["x", "tanh", "sin", "relu"],
                "binary": ["add", "mul", "max"],
            }
        ],
    }
    space.write_text(yaml.safe_dump(data))
    url = f"sqlite:///{tmp_path / 'e.db'}"
    runs = tmp_path / "runs"
    first = launch(space, study="evo", url=url, runs_dir=runs, num_samples=4)
    assert first.status == "completed"
    rows = sorted(trials("evo", url), key=lambda t: t.number)
    assert rows[0].config["activation"] == {"family": "standard", "name": "relu"}
    assert len({t.dedup_key for t in rows}) == len(rows) == 4
    # Children of the population are grammar trees; Optuna keeps what each trial evolved.
    assert all(t.config["activation"]["family"] == "grammar" for t in rows[1:])
    ot = optuna.load_study(study_name="afsearch:evo", storage=url)
    assert {t.user_attrs[EVOLVED]["family"] for t in ot.trials} >= {"standard", "grammar"}
    # Resumed with more samples (as Optuna's optimize called again), the study runs the extra
    # trials, its parents drawn from the stored ones.
    again = launch(space, study="evo", url=url, runs_dir=runs, resume=True, num_samples=6)
    assert again.status == "completed" and again.num_trials == 2
    assert len(trials("evo", url)) == 6
    assert get_study("evo", url).num_samples == 6


@pytest.mark.parametrize("per_site", [False, True])
def test_an_interrupted_evolved_trial_runs_its_own_activation_again(per_site: bool) -> None:
    # Its activation is no Optuna parameter: a resume that enqueued the parameters alone drew
    # another one, and continued the old activation's checkpoint and epochs with it.
    from types import SimpleNamespace

    from afsearch.orchestrator._optuna import prepare_resume
    from afsearch.orchestrator._proposer import TrialProposer
    from afsearch.space import parse_space
    from afsearch.trial import TrialSpec

    space = parse_space(
        {
            "task": {"name": "digits-mlp", "epochs": 1, "lr": {"low": 1e-3, "high": 1e-2}},
            "per_site": per_site,
            "sampler": "evolution",
            "sampler_options": {"population": 2, "tournament": 1},
            "checkpoint_every": 0,
            "families": [{"family": "swish", "beta": {"low": 0.5, "high": 4.0}}],
        }
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    proposer = TrialProposer(space, "sqlite://", seed=0, cpus_per_trial=1, reuse=False)
    cut = study.ask()
    spec = TrialSpec.of_config(proposer(cut))
    # The driver died with the trial running; its row (id 7) was marked interrupted.
    prepare_resume(study, [SimpleNamespace(id=7, config={"optuna_trial": cut.number})])
    again = TrialSpec.of_config(proposer(study.ask()))
    assert again.replaces == 7
    assert again.activation == spec.activation and again.dedup_key == spec.dedup_key
    assert again.settings == spec.settings
