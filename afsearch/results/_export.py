"""Exporting activations to files: a standalone ``.py`` module and a ``.json`` record.

>>> from afsearch.results import export_trial
>>> export_trial("quickstart/3", out_dir="exported")  # doctest: +SKIP

The compiler (and with it torch) is imported by the functions that write files, so that
``afsearch show`` and the other reading commands, which import this package, load no torch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate, Param, SiteCandidates
from afsearch.results._trial import trial_candidate, trial_channel_values

#: Where exports go when no folder is named.
EXPORT_DIR = "exported"


@dataclass(frozen=True)
class Exported:
    module_path: Path
    json_path: Path
    class_name: str
    function_name: str
    #: A per-site trial's modules, one per activation site in the network's order (class
    #: ``<class_name>Site<k>``); ``json_path`` then indexes them.
    site_modules: tuple[Path, ...] = ()


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
    from afsearch.compiler import candidate_record, check_class_name, render_module, snake_case

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
    if isinstance(candidate, SiteCandidates):
        return _export_sites(t, candidate, cls, out_dir)
    extra = _trial_fields(t)
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


def _export_sites(t: Any, sites: SiteCandidates, cls: str, out_dir: str | Path) -> Exported:
    """One module per activation site (``<cls>Site<k>.py`` and ``.json``, each with that
    site's learned values) and ``<cls>.json``, which lists them in the network's order."""
    from afsearch.compiler import check_class_name, snake_case

    check_class_name(cls)
    names = [check_class_name(f"{cls}Site{k}"[:64]) for k in range(len(sites.sites))]
    if len(set(names)) != len(names):
        raise AfsearchError(
            f"The class name {cls!r} is too long to number {len(names)} sites; use a shorter "
            "--name."
        )
    learned = t.learned_params or {}
    per_channel = learned.get("per_channel") or {}
    written = []
    for k, (site, site_name) in enumerate(zip(sites.sites, names)):
        prefix = f"site{k}."
        vectors = {n[len(prefix) :]: v for n, v in per_channel.items() if n.startswith(prefix)}
        written.append(
            export_activation(
                site.expr,
                site.params,
                site_name,
                out_dir,
                family=site.family,
                extra={"site": k, "trial": {"study": t.study, "number": t.number, "id": t.id}},
                per_channel=site.per_channel,
                # A per-site module has one site: its vector is that site's.
                sites=[{n: v[0] for n, v in vectors.items()}] if site.per_channel else (),
            )
        )
    index = {
        "name": cls,
        "per_site": True,
        "expression": sites.text,
        "activation_id": t.activation_id,
        "sites": [
            {"site": k, "class": e.class_name, "module": e.module_path.name, "expression": c.text}
            for k, (e, c) in enumerate(zip(written, sites.sites))
        ],
        **_trial_fields(t),
    }
    json_path = Path(out_dir) / f"{cls}.json"
    try:
        json_path.write_text(json.dumps(index, indent=2) + "\n")
    except OSError as exc:
        raise AfsearchError(
            f"Could not write the export to {str(out_dir)!r}: {exc.strerror}."
        ) from None
    return Exported(
        written[0].module_path,
        json_path,
        cls,
        snake_case(cls),
        tuple(e.module_path for e in written),
    )


def _trial_fields(t: Any) -> dict[str, Any]:
    """What an exported record says of the trial it came from."""
    return {
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
