"""``enqueue:``, the activations a study tries first (a warm start, as Optuna's
``enqueue_trial``), checked when the space is read.

Each entry is a standard activation by name (``relu``, ``gelu``: the names ``sampler:
evolution``'s ``initial`` takes) or a family config with its values
(``{family: swish, beta: 1.0}``), which need not lie inside the space's families.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from afsearch.activations import build
from afsearch.domains import Where, show
from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import KNOWN


def named(name: str) -> dict[str, Any]:
    """The config of the standard activation ``name``, as ``initial`` draws it."""
    return {"family": "standard", "name": name}


def parse_enqueue(where: Where, raw: Any) -> tuple[dict[str, Any], ...]:
    """The activation configs of ``enqueue:``, each one built once to check it."""
    if raw is None:
        return ()
    if isinstance(raw, (str, Mapping)) or not isinstance(raw, list):
        raise where.error(
            "must be a list of standard activation names or family configs, for example "
            f"[relu, gelu, {{family: swish, beta: 1.0}}], got {show(raw)}."
        )
    configs: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        at = where.at(f"[{i}]")
        if isinstance(item, str):
            if item not in KNOWN:
                raise at.error(
                    f"{item!r} is not a standard activation; name one of {choices(KNOWN)}, or "
                    "give a family config such as {family: swish, beta: 1.0}."
                )
            config = named(item)
        elif isinstance(item, Mapping) and "family" in item:
            config = dict(item)
        else:
            raise at.error(
                "must be a standard activation name or a family config with a 'family' key "
                f"and fixed values, got {show(item)}."
            )
        try:
            build(config)
        except (AfsearchError, TypeError, ValueError) as exc:
            raise at.error(str(exc).rstrip(".") + ".") from None
        configs.append(config)
    return tuple(configs)
