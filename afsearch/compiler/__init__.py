"""SymPy to PyTorch: compiled modules, identity by fingerprint, standalone source text.

One table maps SymPy node types to torch kernels (:mod:`afsearch.compiler._table`); one
straight-line program built from it is interpreted by :class:`CompiledActivation` during a
search and printed by :func:`render_module` for export, so both compute the same thing. The
identity of an activation (:func:`activation_id`) is computed by running that program.
Writing exported files is the job of :mod:`afsearch.results`.
"""

from afsearch.compiler._cost import Cost, activation_cost, measure_cost
from afsearch.compiler._identity import (
    activation_id,
    candidate_record,
    canonical_form,
    fingerprint,
    id_of_fingerprint,
)
from afsearch.compiler._module import CompiledActivation
from afsearch.compiler._source import check_class_name, render_module, snake_case
from afsearch.compiler._table import register_function, supported_names

__all__ = [
    "CompiledActivation",
    "Cost",
    "activation_cost",
    "activation_id",
    "candidate_record",
    "canonical_form",
    "check_class_name",
    "fingerprint",
    "id_of_fingerprint",
    "measure_cost",
    "register_function",
    "render_module",
    "snake_case",
    "supported_names",
]
