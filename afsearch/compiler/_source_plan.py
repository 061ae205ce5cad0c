"""What :func:`~afsearch.compiler.render_module` prints from, and the checks that keep it safe.

A :class:`Plan` holds the names, the exported values and the programs of one rendered module,
so each stage of the rendering reads them instead of deriving them again. The class name is
checked, and the function name derived from it, so that neither shadows a name the module
defines; per-site values become lists of finite floats; texts are escaped for docstrings.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy

from afsearch.compiler import _runtime
from afsearch.compiler._fused import autograd_ops
from afsearch.compiler._native import native_form
from afsearch.compiler._program import Program, build_program, depends_on_input, fold_value
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate, X

_CLASS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def _reserved() -> set[str]:
    """Names the generated module defines or imports itself."""
    runtime = {n for n, v in vars(_runtime).items() if callable(v) or not n.startswith("__")}
    return runtime | {
        "torch",
        "math",
        "annotations",
        "EXPRESSION",
        "LATEX",
        "PARAMS",
        "TRAINABLE",
        "PER_CHANNEL",
        "SITES",
        "x",
        "grad",
        "ctx",
    }


def check_class_name(name: str) -> str:
    if not _CLASS_NAME.match(name) or keyword.iskeyword(name) or name in _reserved():
        raise AfsearchError(
            f"The class name {name!r} is not valid; use a letter followed by up to 63 letters, "
            "digits or underscores (for example 'SwishBeta'), other than a Python keyword or "
            "a name the module defines itself."
        )
    return name


def snake_case(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return s + "_fn" if keyword.iskeyword(s) or s in _reserved() or s.startswith("p_") else s


def escape_doc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


@dataclass(frozen=True)
class Plan:
    """What :func:`~afsearch.compiler.render_module` prints: the names, the exported values
    and the programs."""

    candidate: Candidate
    class_name: str
    fn_name: str
    per_channel: tuple[str, ...]
    sites: list[dict[str, list[float]]]
    names: list[str]
    pnames: list[str]
    values: dict[str, float]
    forward: Program
    back_x: Program
    #: Every derivative of the expression at once, when there are parameters to differentiate.
    back_all: Program | None
    at_values: Program
    #: Whether a module without trainable parameters runs ``at_values`` as PyTorch's own op.
    direct: bool
    latex: str

    @property
    def sig_params(self) -> str:
        return "".join(f", {p}" for p in self.pnames)

    @property
    def default_params(self) -> str:
        return "".join(
            f", {p}: float = {self.values[n]!r}" for p, n in zip(self.pnames, self.names)
        )


def make_plan(
    candidate: Candidate, class_name: str, sites: Sequence[Mapping[str, Sequence[float]]]
) -> Plan:
    per_channel = tuple(candidate.trainable) if candidate.per_channel else ()
    checked_sites = _check_sites(sites, per_channel)
    names = list(candidate.params)
    syms = candidate.symbols
    inputs = [X, *syms]
    forward = build_program([candidate.expr], inputs)
    # d/dx of the native form: SiLU's and GELU's derivatives are one PyTorch kernel each.
    back_x = build_program([sympy.diff(native_form(candidate.expr), X)], inputs)
    # With parameter gradients, every derivative of the expression itself (as FusedPrograms).
    dps = [sympy.diff(candidate.expr, s) for s in syms]
    back_all = build_program([sympy.diff(candidate.expr, X), *dps], inputs) if syms else None
    values = {n: p.value for n, p in candidate.params.items()}
    # The expression at the exported values: where that is one PyTorch op (SiLU for a Swish
    # exported with beta = 1), a module without trainable parameters runs it directly and
    # autograd uses PyTorch's own backward, as fast and as lean as the op itself.
    at_values = build_program(
        [candidate.expr.xreplace({s: fold_value(values[s.name]) for s in syms})], [X]
    )
    direct = autograd_ops(at_values) <= 1 and depends_on_input(at_values, at_values.outputs[0])
    return Plan(
        candidate=candidate,
        class_name=class_name,
        fn_name=snake_case(class_name),
        per_channel=per_channel,
        sites=checked_sites,
        names=names,
        pnames=[f"p_{n}" for n in names],
        values=values,
        forward=forward,
        back_x=back_x,
        back_all=back_all,
        at_values=at_values,
        direct=direct and not per_channel,
        latex=sympy.latex(candidate.expr),
    )


def _check_sites(
    sites: Sequence[Mapping[str, Sequence[float]]], per_channel: tuple[str, ...]
) -> list[dict[str, list[float]]]:
    """``sites`` as lists of finite floats, one per channel of each per-channel parameter."""
    if sites and not per_channel:
        raise AfsearchError(
            "Per-site channel values were given for an activation that is not per-channel; "
            "give them only with per_channel candidates."
        )
    out = []
    for k, site in enumerate(sites):
        lengths = set()
        values = {}
        for n in per_channel:
            vector = site.get(n) if isinstance(site, Mapping) else None
            if not isinstance(vector, Sequence) or not vector:
                raise AfsearchError(
                    f"Site {k} of the per-channel values has no values of {n!r}; each site must "
                    f"give every per-channel parameter ({', '.join(per_channel)}) a list."
                )
            floats = [float(v) for v in vector]
            if not all(math.isfinite(v) for v in floats):
                raise AfsearchError(f"Site {k} gives {n!r} a value that is not finite.")
            values[n] = floats
            lengths.add(len(floats))
        if len(lengths) > 1:
            raise AfsearchError(
                f"Site {k} of the per-channel values gives its parameters different channel "
                f"counts ({sorted(lengths)}); each site has one count."
            )
        out.append(values)
    return out
