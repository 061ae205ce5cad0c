"""Search spaces: YAML files that say which activations and task settings a study tries."""

from afsearch.space._schema import (
    SAMPLERS,
    SCHEDULERS,
    Choice,
    FamilySpace,
    Range,
    SearchSpace,
    grid_configs,
    load_space,
    parse_space,
    sample_config,
    task_settings,
)

__all__ = [
    "SAMPLERS",
    "SCHEDULERS",
    "Choice",
    "FamilySpace",
    "Range",
    "SearchSpace",
    "grid_configs",
    "load_space",
    "parse_space",
    "sample_config",
    "task_settings",
]
