"""Search spaces: YAML files that say which activations and task settings a study tries.

docs/SPACE.md is the reference of the YAML form.
"""

from afsearch.domains import Choice, FamilySpace, Range
from afsearch.space._confirm_options import ConfirmOptions
from afsearch.space._load import load_space, parse_space
from afsearch.space._overrides import with_overrides
from afsearch.space._prescreen_options import PrescreenOptions
from afsearch.space._sample import grid_configs, sample_config, task_settings
from afsearch.space._space import COMPILE_MODES, SCHEDULERS, SearchSpace

__all__ = [
    "COMPILE_MODES",
    "SCHEDULERS",
    "Choice",
    "ConfirmOptions",
    "FamilySpace",
    "PrescreenOptions",
    "Range",
    "SearchSpace",
    "grid_configs",
    "load_space",
    "parse_space",
    "sample_config",
    "task_settings",
    "with_overrides",
]
