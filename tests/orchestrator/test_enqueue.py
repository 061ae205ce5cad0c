"""``enqueue:`` puts activations first in a new Optuna study, as ``enqueue_trial``; the
proposer trains each one's activation, with task values the sampler draws."""

from __future__ import annotations

import optuna

from afsearch.orchestrator._optuna import enqueue_activations
from afsearch.orchestrator._proposer import TrialProposer
from afsearch.space import parse_space
from afsearch.trial import TrialSpec
from afsearch.trial.attrs import ENQUEUED

SPACE = {
    "task": {"name": "digits-mlp", "epochs": 1, "lr": {"low": 1e-3, "high": 1e-2}},
    "sampler": "random",
    "enqueue": ["gelu", {"family": "swish", "beta": 1.25}],
    "families": [{"family": "elu", "alpha": {"low": 0.1, "high": 2.0}}],
}


def test_enqueued_activations_come_first_then_the_sampler_s() -> None:
    space = parse_space(SPACE)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    enqueue_activations(study, space.enqueue)
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.user_attrs[ENQUEUED] for t in waiting] == list(space.enqueue)
    proposer = TrialProposer(space, "sqlite://", seed=0, cpus_per_trial=1, reuse=False)
    specs = []
    for _ in range(3):
        trial = study.ask()
        specs.append(TrialSpec.of_config(proposer(trial)))
        study.tell(trial, 0.5)
    assert [s.activation for s in specs[:2]] == list(space.enqueue)
    assert "erf" in specs[0].expression
    assert specs[2].activation["family"] == "elu"
    # The task's learning rate is drawn for every trial, enqueued or not.
    assert all(1e-3 <= s.settings.lr <= 1e-2 for s in specs)
    assert set(study.trials[0].params) == {"task.lr"}
