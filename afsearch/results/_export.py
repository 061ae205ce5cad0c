"""Exporting activations to files: a standalone ``.py`` module and a ``.json`` record.

>>> from afsearch.results import export_trial
>>> export_trial("quickstart/3", out_dir="exported")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afsearch.compiler import candidate_record, check_class_name, render_module, snake_case
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate, Param
from afsearch.results._trial import trial_candidate, trial_channel_values

#: Where exports go when no folder is named.
EXPORT_DIR = "exported"


@dataclass(frozen=True)
class Exported:
    module_path: Path
    json_path: Path
    class_name: str
    function_name: str


def export_activation(
    expr: Any,
    params: Mapping[str, Param | float],
    name: str,
    out_dir: str | Path = ".",
    *,
    family: str = "expression",
    extra: Mapping[str, Any] | None = None,
    per_channel: bool = False,
    sites: Sequence[Mapping[str, Sequence[float]]] = (),
) -> Exported:
    """Write ``<out_dir>/<name>.py`` and ``<out_dir>/<name>.json`` for an expression.

    ``params`` maps each parameter to a value or a :class:`Param` (value and trainability).
    With ``per_channel`` the module takes ``channels=C`` or ``site=k``, ``sites`` giving each
    activation site's learned value per channel (see :func:`afsearch.compiler.render_module`).
    """
    norm = {n: p if isinstance(p, Param) else Param(p, False) for n, p in params.items()}
    candidate = Candidate(expr, norm, family, per_channel=per_channel)
    check_class_name(name)
    source = render_module(candidate, name, sites)
    record = candidate_record(candidate, with_fingerprint=True)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        module_path = out / f"{name}.py"
        json_path = out / f"{name}.json"
        module_path.write_text(source)
        document = {
            "name": name,
            "expression": record["expression"],
            "srepr": record["srepr"],
            "latex": record["latex"],
            "params": {n: {"value": p.value, "trainable": p.trainable} for n, p in norm.items()},
            "family": family,
            **({"per_channel": True} if candidate.per_channel else {}),
            "activation_id": record["id"],
            "fingerprint": record["fingerprint"],
            **dict(extra or {}),
        }
        json_path.write_text(json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        raise AfsearchError(
            f"Could not write the export to {str(out)!r}: {exc.strerror}."
        ) from None
    return Exported(module_path, json_path, name, snake_case(name))


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
    out_dir: str | Path = EXPORT_DIR,
    name: str | None = None,
) -> Exported:
    """Export trial ``ref`` (id or ``study/number``), or the best trial of ``study``."""
    from afsearch.store import study_best, trial

    if ref is None:
        if study is None:
            raise AfsearchError("Name a trial, or a study whose best trial to export.")
        # The confirmed best once the study has a confirmation (store.study_best).
        best = study_best(study, url)
        if best is None:
            raise AfsearchError(f"Study {study!r} has no completed trial to export yet.")
        t = best
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
        candidate.expr,
        candidate.params,
        cls,
        out_dir,
        family=candidate.family,
        extra=extra,
        per_channel=candidate.per_channel,
        sites=trial_channel_values(t) if candidate.per_channel else (),
    )
