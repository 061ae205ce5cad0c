"""``per_site``: each activation site of the task's network gets its own candidate.

The sites are counted by building the task's network once on the driver
(:func:`afsearch.tasks._sites.count_sites`), at both ends of every searched task value, so a
space whose trials would have different numbers of sites is refused before a launch.
"""

from __future__ import annotations

from typing import Any

from afsearch.domains import Suggester, Where, show, suggest
from afsearch.exceptions import AfsearchError
from afsearch.space._space import SearchSpace


def check_per_site(where: Where, data: Any, space: SearchSpace) -> None:
    """Read ``per_site`` into ``space`` and count the task's sites (``space.sites``)."""
    raw = data.get("per_site", False) if isinstance(data, dict) else False
    if not isinstance(raw, bool):
        raise where.at("per_site").error(f"must be true or false, got {show(raw)}.")
    space.per_site = raw
    if not raw:
        return
    if space.prescreen is not None:
        raise where.at("per_site").error(
            "the prescreen scores one activation for the whole network, not one per site; "
            "leave prescreen out with per_site."
        )
    space.sites = _count(where, space)


def _count(where: Where, space: SearchSpace) -> int:
    from afsearch.space._sample import _Corner, task_settings
    from afsearch.tasks import count_sites, get_task

    counts = set()
    for corner in (_Corner(False), _Corner(True)):
        values = {k: suggest(corner, k, v) for k, v in space.task_values.items()}
        try:
            task = get_task(space.task, task_settings(space, values), search_path=space.folder)
            counts.add(len(count_sites(task)))
        except AfsearchError as exc:
            raise where.at("per_site").error(str(exc)) from None
    if len(counts) > 1:
        raise where.at("per_site").error(
            f"the task's network has {' or '.join(map(str, sorted(counts)))} activation sites "
            "depending on the searched task values; per_site needs the same number in every "
            "trial, so fix the value that sets the depth."
        )
    return counts.pop()


def sample_sites(trial: Suggester, space: SearchSpace) -> dict[str, Any]:
    """One family config per site, each drawn under names ``site<k>.*``."""
    from afsearch.activations import per_site_config, sample_family

    labels = [f.label for f in space.families]
    configs = []
    for k in range(space.sites):
        name = f"site{k}.family"
        label = trial.suggest_categorical(name, labels) if len(labels) > 1 else labels[0]
        fs = space.families[labels.index(label)]
        configs.append(sample_family(fs, trial, f"site{k}.{label}"))
    return per_site_config(configs)
