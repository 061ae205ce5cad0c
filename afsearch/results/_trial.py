"""The seam between a stored trial and the candidate it trained."""

from __future__ import annotations

from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.expr import PER_SITE, Candidate, SiteCandidates


def trial_candidate(trial: Any, learned: bool = True) -> Candidate | SiteCandidates:
    """The candidate a stored trial trained, re-parsed through the allow-list parser.

    With ``learned``, trainable parameters take their learned values (the mean over the
    network's activation sites, and over the channels of a per-channel parameter; per-site
    values and per-channel vectors stay in the trial's ``learned_params``). A per-site trial
    gives a :class:`~afsearch.expr.SiteCandidates`, each site with its own learned values.
    """
    record = trial.activation
    if record is None:
        raise AfsearchError(f"Trial {trial.study}/{trial.number} has no activation recorded.")
    activation = (trial.config or {}).get("activation") or {}
    candidate: Candidate | SiteCandidates
    if record.family == PER_SITE:
        candidate = _sites_of(record, activation)
    else:
        candidate = _candidate(record.expression, record.params, record.family, activation)
    if learned and trial.learned_params:
        mean = trial.learned_params.get("mean", {})
        values = {k: float(v) for k, v in mean.items() if isinstance(v, (int, float))}
        candidate = candidate.with_values(values)
    return candidate


def _candidate(expression: str, params: Any, family: str, config: Any) -> Candidate:
    return Candidate.from_dict(
        {
            "expression": expression,
            "params": params,
            "family": family,
            # The family config says per_channel; a candidate without trainable parameters
            # was built as the plain function (activations.BaseFamily.build).
            "per_channel": isinstance(config, dict)
            and config.get("per_channel") is True
            and any(p.get("trainable") for p in (params or {}).values()),
        }
    )


def _sites_of(record: Any, config: Any) -> SiteCandidates:
    """A per-site record: its expression is the sites' texts joined by ``"; "`` and its params
    are named ``site<k>.<name>`` (compiler.candidate_record)."""
    texts = str(record.expression).split("; ")
    configs = config.get("sites") if isinstance(config, dict) else None
    if not isinstance(configs, list) or len(configs) != len(texts):
        configs = [{}] * len(texts)
    sites = []
    for k, (text, site_config) in enumerate(zip(texts, configs)):
        prefix = f"site{k}."
        params = {
            n[len(prefix) :]: p for n, p in (record.params or {}).items() if n.startswith(prefix)
        }
        sites.append(
            _candidate(text, params, str(site_config.get("family", "expression")), site_config)
        )
    return SiteCandidates(tuple(sites))


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
