"""Does a distilled formula train as well as the learned activation it came from?

Each formula (fixed: its scalars are the distilled ones) trains on fresh seeds with the trial's
task and settings, beside the trial's own activation retrained from its initial values as the
search trained it, and standard activations. Each formula faces the learned activation, and
every one of them the best standard activation, with the confirm stage's statistics: Welch's
t-test (on the logs, as a ratio, for a positive error to minimise), the interval of the
difference and Holm's correction over the formulas.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from afsearch.distill._trial import Distillation
from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import KNOWN, Candidate, SiteCandidates

LEARNED = "learned"
#: The standard activations a retraining compares with, by default.
AGAINST = ("relu", "gelu", "silu")


@dataclass(frozen=True)
class Retrained:
    """The runs and verdicts of a retraining: one row per arm (``kind`` is ``formula``,
    ``learned`` or ``baseline``), formulas first."""

    task: str
    metric: str
    mode: str
    scale: str
    seeds: list[int]
    rows: list[dict[str, Any]]
    #: Arms left out, each with the task's sentence (a PINN refuses kinks).
    refused: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "metric": self.metric,
            "mode": self.mode,
            "scale": self.scale,
            "seeds": self.seeds,
            "rows": self.rows,
            "refused": self.refused,
        }


def _arms(
    t: Any, distilled: Sequence[Distillation], count: int
) -> list[tuple[str, Candidate | SiteCandidates, list[Any]]]:
    """The formulas to train, as the network's activation: the ``count`` most accurate of
    each front, rank by rank. A per-site trial keeps its own activation at the sites not
    distilled; a trial with one activation at several sites takes a site's formula at every
    site when one site was distilled, else each site its own."""
    from afsearch.results import trial_candidate

    initial = trial_candidate(t, False)
    sites = distilled[0].sites
    per_site = isinstance(initial, SiteCandidates) or len(distilled) > 1
    fronts = {d.site: sorted(d.formulas, key=lambda f: -f.r2)[:count] for d in distilled}
    ranks = max(len(front) for front in fronts.values())
    arms: list[tuple[str, Candidate | SiteCandidates, list[Any]]] = []
    for i in range(ranks):
        picked = {k: front[min(i, len(front) - 1)] for k, front in fronts.items()}
        if not per_site:
            (formula,) = picked.values()
            arms.append((f"formula {i + 1}", formula.candidate(), [formula]))
            continue
        own = list(initial.sites) if isinstance(initial, SiteCandidates) else [initial] * sites
        chosen = [picked[k].candidate() if k in picked else c for k, c in enumerate(own)]
        arms.append((f"formula {i + 1}", SiteCandidates(tuple(chosen)), list(picked.values())))
    return arms


def retrain(
    db: Any,
    distilled: Sequence[Distillation],
    seeds: int,
    *,
    against: Sequence[str] = AGAINST,
    formulas: int = 3,
    device: str = "cpu",
    progress: Callable[[str, int, Any], None] | None = None,
) -> Retrained:
    """Train the ``formulas`` most accurate formulas of each front of ``distilled`` (one
    trial's sites, from :func:`distill_trial`) on ``seeds`` fresh seeds here, against the
    learned activation and ``against``."""
    from afsearch.confirm import choose_scale, fresh_seeds, judge, refused_baselines
    from afsearch.results import compare, trial_candidate
    from afsearch.store import trial as get_trial
    from afsearch.tasks import get_task
    from afsearch.trial import TrialSpec

    if not distilled:
        raise AfsearchError("Nothing was distilled, so there is nothing to retrain.")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
        raise AfsearchError(f"retrain needs at least 2 seeds for its statistics, got {seeds!r}.")
    bad = [n for n in against if n not in KNOWN]
    if bad:
        raise AfsearchError(
            f"against names {bad[0]!r}, which is not a standard activation; valid names are "
            f"{choices(KNOWN)}."
        )
    t = get_trial(distilled[0].trial, db)
    cfg = t.config or {}
    if "task" not in cfg or "settings" not in cfg:
        raise AfsearchError(f"Trial {distilled[0].trial} does not record its task and settings.")
    spec = TrialSpec.from_dict(cfg)
    task = get_task(spec.task, spec.settings)
    refused = dict(refused_baselines(spec.task, spec.settings, list(against)))
    arms = []
    if isinstance(formulas, bool) or not isinstance(formulas, int) or formulas < 1:
        raise AfsearchError(f"formulas must be an integer of at least 1, got {formulas!r}.")
    for name, candidate, picked in _arms(t, distilled, formulas):
        why = _refusal(task, candidate)
        if why:
            refused[name] = why
        else:
            arms.append((name, candidate, picked))
    if not arms:
        raise AfsearchError(
            f"Task {spec.task!r} refuses every distilled formula ({next(iter(refused.values()))})."
        )
    baselines = [(n, {"family": "standard", "name": n}) for n in against if n not in refused]
    named = [(n, c) for n, c, _ in arms] + [(LEARNED, trial_candidate(t, False))] + baselines
    seed_list = fresh_seeds(seeds, avoid=set(spec.training_seeds))
    results = compare(
        named,
        spec.task,
        seeds=seed_list,
        settings=spec.settings,
        device=device,
        progress=progress,
        objective=(spec.metric, spec.mode),
    )
    values = {r.name: r.values for r in results}
    diverged = {r.name: sum(run.diverged for run in r.runs) for r in results}
    scale = choose_scale(spec.mode, [v for vals in values.values() for v in vals])
    trained = [(n, None, values[n]) for n, _, _ in arms]
    vs_learned = judge(trained, [(LEARNED, values[LEARNED])], spec.mode, scale=scale)
    vs_best = judge(
        [*trained, (LEARNED, None, values[LEARNED])],
        [(n, values[n]) for n, _ in baselines],
        spec.mode,
        scale=scale,
    )
    rows = []
    for (name, _, picked), own, best in zip(arms, vs_learned, vs_best, strict=False):
        rows.append(
            {
                "name": name,
                "kind": "formula",
                "formula": "; ".join(f.text for f in picked),
                "nodes": max(f.nodes for f in picked),
                "r2": min(f.r2 for f in picked),
                **_summary(own, values[name], diverged[name]),
                "vs_learned": _verdict(own),
                "vs_baseline": _verdict(best),
            }
        )
    learned_row = vs_best[len(arms)]
    rows.append(
        {
            "name": LEARNED,
            "kind": LEARNED,
            "formula": f"{distilled[0].family if len(distilled) == 1 else 'per site'}, retrained",
            **_summary(learned_row, values[LEARNED], diverged[LEARNED]),
            "vs_baseline": _verdict(learned_row),
        }
    )
    for b in vs_best[len(arms) + 1 :]:
        rows.append(
            {
                "name": b["arm"],
                "kind": "baseline",
                "formula": b["arm"],
                **_summary(b, values[b["arm"]], diverged[b["arm"]]),
            }
        )
    return Retrained(spec.task, spec.metric, spec.mode, scale, seed_list, rows, refused)


def _summary(row: dict[str, Any], values: list[float], diverged: int) -> dict[str, Any]:
    return {
        "n": row["n"],
        "mean": row["mean"],
        "std": row["std"],
        "values": values,
        "diverged": diverged,
    }


def _verdict(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("baseline", "delta", "ci_low", "ci_high", "p_value", "p_holm", "verdict")
    return {k: row.get(k) for k in keys}


def _refusal(task: Any, candidate: Candidate | SiteCandidates) -> str | None:
    """The task's sentence refusing ``candidate`` (a PINN refuses kinks), or ``None``."""
    for site in getattr(candidate, "sites", [candidate]):
        try:
            task.check_candidate(site)
        except AfsearchError as exc:
            return str(exc)
    return None
