"""The seam between a stored trial and the candidate it trained."""

from __future__ import annotations

from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate


def trial_candidate(trial: Any, learned: bool = True) -> Candidate:
    """The candidate a stored trial trained, re-parsed through the allow-list parser.

    With ``learned``, trainable parameters take their learned values (the mean over the
    network's activation sites, and over the channels of a per-channel parameter; per-site
    values and per-channel vectors stay in the trial's ``learned_params``).
    """
    record = trial.activation
    if record is None:
        raise AfsearchError(f"Trial {trial.study}/{trial.number} has no activation recorded.")
    activation = (trial.config or {}).get("activation") or {}
    candidate = Candidate.from_dict(
        {
            "expression": record.expression,
            "params": record.params,
            "family": record.family,
            # The family config says per_channel; a candidate without trainable parameters
            # was built as the plain function (activations.BaseFamily.build).
            "per_channel": activation.get("per_channel") is True
            and any(p.get("trainable") for p in (record.params or {}).values()),
        }
    )
    if learned and trial.learned_params:
        mean = trial.learned_params.get("mean", {})
        values = {k: float(v) for k, v in mean.items() if isinstance(v, (int, float))}
        candidate = candidate.with_values(values)
    return candidate


def trial_channel_values(trial: Any) -> list[dict[str, list[float]]]:
    """A per-channel trial's learned values at each activation site of its first training run:
    ``[{name: [value per channel]}]`` (empty for a trial without per-channel parameters)."""
    per_channel = (trial.learned_params or {}).get("per_channel") or {}
    if not isinstance(per_channel, dict) or not per_channel:
        return []
    n_sites = min(len(v) for v in per_channel.values())
    return [{n: list(v[k]) for n, v in per_channel.items()} for k in range(n_sites)]


def channel_summary(learned_params: Any) -> dict[str, dict[str, float]]:
    """Per-channel parameters summarised over every channel of every site: ``{name: {sites,
    channels, mean, min, max}}`` (``channels`` is the count of the first site)."""
    per_channel = (learned_params or {}).get("per_channel") or {}
    out: dict[str, dict[str, float]] = {}
    for name, vectors in per_channel.items() if isinstance(per_channel, dict) else ():
        flat = [float(v) for vector in vectors for v in vector]
        if not flat:
            continue
        out[name] = {
            "sites": len(vectors),
            "channels": len(vectors[0]),
            "mean": sum(flat) / len(flat),
            "min": min(flat),
            "max": max(flat),
        }
    return out
