"""A study as a whole: which parameters mattered (Optuna's importances), a plot of its
progress, its best activations and Pareto front, and several studies' bests side by side.

>>> importances("quickstart")  # doctest: +SKIP
{'family': 0.71, 'task.lr': 0.29}
>>> plot_study("quickstart", path="quickstart.png")  # doctest: +SKIP
>>> compare_studies(["tpe-run", "evolution-run"])  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.results._plots import save_figure

#: Completed trials Optuna's importance evaluators need at the least.
MIN_IMPORTANCE_TRIALS = 2


def _optuna_study(study: str, url: str | None) -> Any:
    """The Optuna half of ``study`` (an :class:`AfsearchError` when the study has none)."""
    import optuna

    from afsearch.store import get_study, optuna_study_name, resolve_url

    record = get_study(study, url)
    name = record.optuna_study_name or optuna_study_name(study)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=name, storage=resolve_url(url))
    except KeyError:
        raise AfsearchError(
            f"The study {study!r} has no Optuna study {name!r} in its database (it ended before "
            "its first trial); relaunch it with afsearch launch --resume."
        ) from None


def importances(study: str, url: str | None = None, *, seed: int = 0) -> dict[str, float]:
    """Optuna's parameter importances (fANOVA, normalised to sum to 1) for ``study``'s first
    objective, most important first, over the parameters every completed trial has.

    Raises an :class:`AfsearchError` with a sentence when the study has too few completed
    trials, or no parameter that all of them share.
    """
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    ot = _optuna_study(study, url)
    complete = ot.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < MIN_IMPORTANCE_TRIALS:
        raise AfsearchError(
            f"The study {study!r} has {len(complete)} completed trial"
            f"{'' if len(complete) == 1 else 's'}; parameter importances need at least "
            f"{MIN_IMPORTANCE_TRIALS} (run more with afsearch launch --resume --num-samples N)."
        )
    target = None
    if len(ot.directions) > 1:

        def target(t: Any) -> float:
            return float(t.values[0])

    try:
        found = get_param_importances(
            ot, evaluator=FanovaImportanceEvaluator(seed=seed), target=target
        )
    except (ValueError, RuntimeError) as exc:
        raise AfsearchError(
            f"Optuna cannot rank the parameters of study {study!r}: {exc}"
        ) from None
    if not found:
        raise AfsearchError(
            f"The study {study!r} has no parameter that all {len(complete)} completed trials "
            "share (each family has its own), so there is nothing to rank; parameters are "
            "ranked once trials of one family or task settings vary."
        )
    return {str(k): float(v) for k, v in sorted(found.items(), key=lambda kv: -kv[1])}


@dataclass(frozen=True)
class StudyBest:
    """One study's best trial, as ``afsearch compare`` shows it."""

    study: str
    task: str
    metric: str
    mode: str
    sampler: str
    status: str
    trials: int
    completed: int
    best_value: float | None
    best_trial: int | None
    expression: str | None
    activation_id: str | None
    learned: dict[str, float]


def compare_studies(names: Sequence[str], url: str | None = None) -> list[StudyBest]:
    """The best trial of each study in ``names`` (the store's rule, :func:`study_best`)."""
    from afsearch.store import get_study, studies, study_best

    if not names:
        raise AfsearchError("compare needs at least one study name.")
    summaries = {s.name: s for s in studies(url)}
    rows: list[StudyBest] = []
    for name in names:
        record = get_study(name, url)  # an unknown name is said here, with suggestions
        summary = summaries[name]
        best = study_best(name, url)
        learned = (best.learned_params or {}).get("mean", {}) if best else {}
        rows.append(
            StudyBest(
                study=name,
                task=record.task,
                metric=record.metric,
                mode=record.mode,
                sampler=record.sampler,
                status=record.status.value,
                trials=summary.n_trials,
                completed=summary.n_completed,
                best_value=best.metric_value if best else None,
                best_trial=best.number if best else None,
                expression=(best.activation.expression if best and best.activation else None),
                activation_id=best.activation_id if best else None,
                learned={str(k): float(v) for k, v in learned.items()},
            )
        )
    return rows


def best_so_far(values: Sequence[float | None], mode: str) -> list[float | None]:
    """The running best of ``values`` (``None`` until the first value).

    >>> best_so_far([0.5, None, 0.4, 0.7], "max")
    [0.5, 0.5, 0.5, 0.7]
    """
    better = max if mode == "max" else min
    out: list[float | None] = []
    best: float | None = None
    for v in values:
        if v is not None and math.isfinite(v):
            best = v if best is None else better(best, v)
        out.append(best)
    return out


def plot_study(study: str, url: str | None = None, *, path: str | Path, top: int = 5) -> Path:
    """Write a PNG of ``study``: its best value so far against the trial number, the shapes
    of its ``top`` best distinct activations and, for a study of several objectives, the
    Pareto front of the first two; returns the path written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from afsearch.store import BEST_STATUSES, get_study, trials

    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise AfsearchError(f"top must be a positive integer, got {top!r}.")
    record = get_study(study, url)
    rows = trials(study, url)
    if not rows:
        raise AfsearchError(f"The study {study!r} has no trials yet, so there is nothing to plot.")
    multi = _objectives(record) > 1
    fig, axes = plt.subplots(1, 3 if multi else 2, figsize=(16 if multi else 11, 4.2))
    ax = axes[0]
    numbers = [t.number for t in rows]
    values = [t.metric_value if t.status in BEST_STATUSES else None for t in rows]
    ax.scatter(
        numbers,
        [t.metric_value for t in rows],
        s=14,
        c=["tab:blue" if t.status in BEST_STATUSES else "lightgrey" for t in rows],
        label="trials (grey: pruned, failed, running)",
    )
    ax.step(numbers, best_so_far(values, record.mode), where="post", color="tab:red", label="best")
    ax.set(xlabel="trial number", ylabel=record.metric, title="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(min(numbers) - 0.5, max(numbers) + 0.5)
    ax.legend(fontsize=8)
    _plot_shapes(axes[1], rows, record.mode, top)
    if multi:
        _plot_pareto(axes[2], study, url, _objective_names(record))
    fig.suptitle(f"{study}: {record.task}, {record.sampler}, {len(rows)} trials", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _objectives(record: Any) -> int:
    return max(1, len(_objective_names(record)))


def _objective_names(record: Any) -> list[str]:
    """The metrics of a study's ``objectives:`` as its space states them (none: one metric)."""
    space = record.space if isinstance(record.space, dict) else {}
    objectives = space.get("objectives")
    if not isinstance(objectives, list):
        return []
    return [
        str(o.get("metric", f"objective {i}"))
        for i, o in enumerate(objectives)
        if isinstance(o, dict)
    ]


def _plot_shapes(ax: Any, rows: Sequence[Any], mode: str, top: int) -> None:
    """The ``top`` best distinct activations (with their learned values) on [-4, 4]."""
    import torch

    from afsearch.compiler import CompiledActivation
    from afsearch.expr import Candidate
    from afsearch.results._trial import trial_candidate
    from afsearch.store import BEST_STATUSES

    ranked = sorted(
        (t for t in rows if t.status in BEST_STATUSES and t.metric_value is not None),
        key=lambda t: -t.metric_value if mode == "max" else t.metric_value,
    )
    x = torch.linspace(-4, 4, 401, dtype=torch.float64)
    seen: set[str] = set()
    for t in ranked:
        if len(seen) >= top:
            break
        if t.activation is None or t.activation_id in seen or t.activation.family == "per_site":
            continue  # a per-site trial has no one shape
        seen.add(str(t.activation_id))
        candidate = trial_candidate(t)
        if not isinstance(candidate, Candidate):
            continue
        with torch.no_grad():
            y = CompiledActivation(candidate, dtype=torch.float64)(x)
        values = ", ".join(f"{k}={v:.3g}" for k, v in candidate.values.items())
        label = f"#{t.number} {t.metric_value:.4g}: {t.activation.expression}"[:56]
        ax.plot(x, y, label=f"{label} {values}"[:80])
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.axvline(0, color="grey", linewidth=0.5)
    ax.set(xlabel="x", ylabel="f(x)", title=f"top {len(seen)} activations")
    if seen:
        ax.legend(fontsize=7)


def _plot_pareto(ax: Any, study: str, url: str | None, metrics: list[str]) -> None:
    """Every completed trial on the first two objectives, the Pareto front highlighted."""
    import optuna

    ot = _optuna_study(study, url)
    done = ot.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    names = ot.metric_names or metrics
    front = {t.number for t in ot.best_trials}
    others = [t for t in done if t.number not in front]
    best = sorted((t for t in done if t.number in front), key=lambda t: t.values[0])
    ax.scatter([t.values[0] for t in others], [t.values[1] for t in others], s=14, c="lightgrey")
    ax.plot(
        [t.values[0] for t in best],
        [t.values[1] for t in best],
        marker="o",
        color="tab:red",
        label="Pareto front",
    )
    for t in best:
        ax.annotate(f"#{t.number}", (t.values[0], t.values[1]), fontsize=7)
    ax.set(xlabel=names[0], ylabel=names[1], title="Pareto front")
    ax.legend(fontsize=8)
