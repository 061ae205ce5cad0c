"""The confirm stage of ``afsearch launch``: the search's best, trained again on fresh seeds
against standard activations.

A search picks its winner on one seed (or a few), so its best single result is partly luck (the
winner's curse). With ``confirm: {top: K, seeds: N, against: [...]}`` in the space, the K best
distinct candidates (by activation identity) and each baseline are trained on N seeds the
search never used, as Ray tasks in parallel, and each run is stored as it ends (a resumed study
trains only the runs that are missing). Each candidate is then compared with the best baseline
(the baseline with the best mean on those seeds): Welch's t-test, Holm's correction over the K
comparisons, the difference of means with its 95% interval. The candidate with the best mean is
the study's confirmed best (``store.study_best``).

>>> confirm_study(store, "demo", ConfirmOptions(top=2, seeds=5))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from afsearch.confirm._arms import BASELINE, CANDIDATE, Arm
from afsearch.confirm._judge import judge
from afsearch.confirm._seeds import Runner, fresh_seeds, run_here
from afsearch.confirm._stage import Stage
from afsearch.confirm._stats import TESTS, choose_scale
from afsearch.exceptions import AfsearchError
from afsearch.space import ConfirmOptions
from afsearch.store import (
    BEST_STATUSES,
    StudyStatus,
    TrialRecord,
    TrialStore,
    VerdictRecord,
    confirmation,
    get_study,
    trials,
)
from afsearch.trial import LaunchObserver, TrialSpec


@dataclass(frozen=True)
class ConfirmResult:
    """What a confirm stage did: its verdicts (as :func:`afsearch.store.confirmation` reads
    them), the fresh seeds, how many runs it trained and how many it found stored."""

    verdicts: list[VerdictRecord]
    seeds: list[int]
    trained: int
    reused: int


def confirm_study(
    store: TrialStore,
    study: str,
    options: ConfirmOptions,
    *,
    runner: Runner | None = None,
    observer: LaunchObserver | None = None,
) -> ConfirmResult:
    """Run (or continue) the confirmation of ``study``, training with ``runner`` (in this
    process by default; ``afsearch.orchestrator.ray_runner`` on Ray). ``observer`` is told when
    each stage starts and as each training ends.

    Its stages: :func:`plan` the arms and seeds; with ``lr_grid``, tune every arm's learning
    rate on the validation split (afsearch.confirm._protocol); train the judging runs the
    database lacks (each stored as it ends); :func:`judge` them on ``options.split``; train the
    winners and the best baseline again under each recipe; store the verdicts.
    """
    info = store.get_study(study)
    arms, seeds = plan(store, study, options)
    stage = Stage(store, study, info, options, runner or run_here, observer or LaunchObserver())
    factors = stage.tune(arms, seeds) if options.lr_grid else {}
    values = stage.judging_values(arms, seeds, factors)
    scale = choose_scale(info.mode, [v for vals in values.values() for v in vals])
    verdicts = judge(
        [(a.arm, a.trial_id, values[(a.kind, a.arm)]) for a in arms if a.kind == CANDIDATE],
        [(a.arm, values[(a.kind, a.arm)]) for a in arms if a.kind == BASELINE],
        info.mode,
        scale=scale,
    )
    for row in verdicts:
        arm = next(a for a in arms if a.arm == row["arm"] and a.kind == row["kind"])
        row["extra"] = {
            "lr_factor": factors.get(arm.key, 1.0),
            "scale": scale,
            "test": TESTS[scale],
            "split": options.split,
        }
    verdicts += stage.recipes(arms, seeds, factors, verdicts, scale)
    refused = refused_baselines(info.task, arms[0].settings, options.against)
    stored_options = {**options.to_dict(), "fresh_seeds": seeds}
    if refused:
        stored_options["refused"] = refused
    store.record_verdicts(study, verdicts, stored_options)
    store.set_study_status(study, StudyStatus.COMPLETED, finished=True)
    return ConfirmResult(confirmation(study, store), seeds, stage.trained, stage.reused)


def plan(store: TrialStore, study: str, options: ConfirmOptions) -> tuple[list[Arm], list[int]]:
    """The arms of ``study``'s confirmation and its fresh seeds (none that its search used);
    an :class:`AfsearchError` when the study has fewer finished distinct candidates than
    ``options.top``."""
    chosen = top_distinct(store, study, options.top, "top of confirm")
    arms = [_candidate_arm(t) for t in chosen]
    used = {seed for t in chosen for seed in _spec(t).training_seeds}
    task = store.get_study(study).task
    left_out = refused_baselines(task, arms[0].settings, options.against)
    arms += [
        Arm(BASELINE, name, {"family": "standard", "name": name}, arms[0].settings)
        for name in options.against
        if name not in left_out
    ]
    return arms, fresh_seeds(options.seeds, avoid=used)


def refused_baselines(task: str, settings: Any, names: Sequence[str]) -> dict[str, str]:
    """The baselines of ``names`` that ``task`` refuses (a PINN refuses ReLU and ELU: their
    second derivatives jump), each with the task's sentence. The confirm stage leaves them out
    rather than fail on them, and stores the reasons with its options (``refused``)."""
    from afsearch.activations import build
    from afsearch.tasks import get_task

    t = get_task(task, settings)
    refused: dict[str, str] = {}
    if t.derivatives:
        for name in names:
            try:
                t.check_candidate(build({"family": "standard", "name": name}))
            except AfsearchError as exc:
                refused[name] = str(exc)
    return refused


def top_distinct(
    store: TrialStore | str | None, study: str, k: int, argument: str = "top"
) -> list[TrialRecord]:
    """The ``k`` best finished trials of ``study`` with distinct activations, best first by the
    search's metric; an :class:`AfsearchError` naming ``argument`` when it has fewer."""
    info = get_study(study, store)
    finished = [
        t
        for t in trials(study, store, status=[s.value for s in BEST_STATUSES])
        if t.metric_value is not None and t.activation_id
    ]
    sign = -1.0 if info.mode == "max" else 1.0
    finished.sort(key=lambda t: (sign * float(t.metric_value or 0.0), t.number))
    distinct: dict[str, TrialRecord] = {}
    for t in finished:
        distinct.setdefault(str(t.activation_id), t)
    if len(distinct) < k:
        raise AfsearchError(
            f"{argument} is {k}, but study {study!r} has only {len(distinct)} finished distinct "
            "candidates; lower it, or run more trials with "
            "`afsearch launch --resume --num-samples N`."
        )
    return list(distinct.values())[:k]


def _spec(t: TrialRecord) -> TrialSpec:
    return TrialSpec.from_dict(t.config or {})


def _candidate_arm(t: TrialRecord) -> Arm:
    """The arm of a search trial: its family config (it trains as the search trained it), or
    its stored candidate when the config has none."""
    cfg = t.config or {}
    activation = cfg.get("activation")
    if not activation and t.activation is not None:
        a = t.activation
        activation = {"expression": a.expression, "params": a.params, "family": a.family}
    spec = _spec(t)
    return Arm(
        CANDIDATE,
        str(t.activation_id),
        activation or {},
        spec.settings,
        t.id,
        tuple(spec.training_seeds),
    )
