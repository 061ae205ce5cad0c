"""Exporting stored trials: the activation with its learned parameter values.

>>> from afsearch.export import export_trial
>>> export_trial("quickstart/3", out_dir="exported")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from afsearch.activations import Candidate
from afsearch.compiler import Exported, export_activation
from afsearch.exceptions import AfsearchError


def trial_candidate(trial: Any, learned: bool = True) -> Candidate:
    """The candidate a stored trial trained, re-parsed through the allow-list parser.

    With ``learned``, trainable parameters take their learned values (the mean over the
    network's activation sites; per-site values stay in the trial's ``learned_params``).
    """
    record = trial.activation
    if record is None:
        raise AfsearchError(f"Trial {trial.study}/{trial.number} has no activation recorded.")
    candidate = Candidate.from_dict(
        {"expression": record.expression, "params": record.params, "family": record.family}
    )
    if learned and trial.learned_params:
        mean = trial.learned_params.get("mean", {})
        values = {k: float(v) for k, v in mean.items() if isinstance(v, (int, float))}
        candidate = candidate.with_values(values)
    return candidate


def _class_name(study: str, number: int) -> str:
    words = re.findall(r"[A-Za-z0-9]+", study)
    base = "".join(w[:1].upper() + w[1:] for w in words) or "Activation"
    if not base[0].isalpha():
        base = "Act" + base
    return f"{base}Trial{number}"[:64]


def export_trial(
    ref: int | str | None,
    url: str | None = None,
    *,
    study: str | None = None,
    out_dir: str | Path = "exported",
    name: str | None = None,
) -> Exported:
    """Export trial ``ref`` (id or ``study/number``), or the best trial of ``study``."""
    from afsearch.store import trial, trials

    if ref is None:
        if study is None:
            raise AfsearchError("Name a trial, or a study whose best trial to export.")
        best = trials(study, url, top=1, status=["completed", "duplicate"])
        if not best:
            raise AfsearchError(f"Study {study!r} has no completed trial to export yet.")
        t = best[0]
    else:
        t = trial(ref, url)
    candidate = trial_candidate(t)
    cls = name or _class_name(t.study, t.number)
    extra = {
        "trial": {
            "study": t.study,
            "number": t.number,
            "id": t.id,
            "metric_value": t.metric_value,
            "status": t.status.value,
        },
        "learned_params": t.learned_params,
        "activation_config": (t.config or {}).get("activation"),
    }
    return export_activation(
        candidate.expr, candidate.params, cls, out_dir, family=candidate.family, extra=extra
    )
