"""The seam between a stored trial and the candidate it trained."""

from __future__ import annotations

from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate


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
