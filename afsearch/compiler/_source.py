"""Standalone PyTorch code for an activation.

:func:`render_module` prints a Python module that imports only torch and the standard library:
the kernels of :mod:`afsearch.compiler._runtime` that the expression uses, a plain function, a
``torch.autograd.Function`` whose backward SymPy derived (it saves only the input and the
parameters, recomputing the rest), and an ``nn.Module``. Everything is printed from the parsed
SymPy tree: parameter names become ``p_<name>`` (names are validated identifiers), values are
printed float literals, and texts are escaped, so nothing a trial carries can inject code.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import re
from collections.abc import Iterable, Mapping, Sequence

from afsearch.compiler import _runtime
from afsearch.compiler._program import Program, Slot, depends_on_input, program_source
from afsearch.compiler._source_classes import (
    autograd_function,
    module_class,
    per_channel_helper,
)
from afsearch.compiler._source_plan import (
    Plan,
    check_class_name,
    escape_doc,
    make_plan,
    snake_case,
)
from afsearch.expr import Candidate

# The plan needs the name checks, so they live in _source_plan; they are still imported from here.
__all__ = ["check_class_name", "render_module", "snake_case"]


@functools.cache
def _runtime_definitions() -> tuple[dict[str, str], dict[str, frozenset[str]], tuple[str, ...]]:
    """Each top-level definition of the runtime: its source, the names it uses, the order."""
    source = inspect.getsource(_runtime)
    tree = ast.parse(source)
    sources: dict[str, str] = {}
    uses: dict[str, frozenset[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            name = node.name
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        else:  # the docstring, imports
            continue
        text = ast.get_source_segment(source, node)
        # Keep the comment lines just above a definition: they say why it is written so.
        lines = source.splitlines()[: node.lineno - 1]
        comments: list[str] = []
        while lines and lines[-1].lstrip().startswith("#"):
            comments.insert(0, lines.pop())
        sources[name] = "\n".join([*comments, text or ""])
        uses[name] = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    return sources, uses, tuple(sources)


def _kernels_used(programs: Iterable[Program]) -> set[str]:
    """Names of runtime kernels that the programs call."""
    sources = _runtime_definitions()[0]
    called = set()
    for program in programs:
        for ins in program.instrs:
            head = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\(", ins.kernel.template)
            if head and head.group(1) in sources:
                called.add(head.group(1))
    return called


def _runtime_source(names: set[str]) -> str:
    """The runtime definitions ``names`` need, with what they use, in the runtime's order."""
    sources, uses, order = _runtime_definitions()
    needed: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        todo.extend(n for n in uses[name] if n in sources)
    return "\n\n\n".join(sources[n] for n in order if n in needed) + "\n"


def render_module(
    candidate: Candidate,
    class_name: str,
    sites: Sequence[Mapping[str, Sequence[float]]] = (),
) -> str:
    """The source of a standalone module for ``candidate``.

    A per-channel candidate's module takes ``channels`` (one value of each trainable parameter
    per channel, broadcast over dim 1 of the input) or ``site``: ``sites`` lists a trial's
    learned per-channel values at each activation site, printed into the module as ``SITES``,
    and ``Name(site=k)`` starts from site k's values.
    """
    plan = make_plan(candidate, check_class_name(class_name), sites)
    out = [
        *_module_docstring(plan),
        *_imports_and_constants(plan),
        *_kernels(plan),
        *_plain_functions(plan),
        *autograd_function(plan),
        *module_class(plan),
    ]
    if plan.per_channel:
        out.extend(per_channel_helper())
    out.append("")
    return "\n".join(out)


def _module_docstring(plan: Plan) -> list[str]:
    candidate, class_name, values = plan.candidate, plan.class_name, plan.values
    trainable = candidate.trainable
    param_doc = (
        "\n".join(
            f"    {n} = {values[n]!r} ({'trainable' if n in trainable else 'fixed'})"
            for n in plan.names
        )
        or "    (none)"
    )
    out = [
        f'"""{escape_doc(class_name)}: an activation function exported by afsearch.\n',
        f"Expression: {escape_doc(candidate.text)}",
        f"LaTeX: {escape_doc(plan.latex)}",
        "Parameters (exported values):",
        escape_doc(param_doc),
        "",
        f"Usage: ``{class_name}()(x)``; ``{class_name}(trainable=False)`` fixes every parameter,",
        f"``{class_name}(trainable=True)`` trains all of them. Depends on torch alone.",
        f"``{class_name}(inplace=True)`` is accepted and ignored, as timm's own activations",
        "do, so the class works as timm's ``act_layer``.",
    ]
    if plan.per_channel:
        out += [
            f"Per channel: {', '.join(plan.per_channel)} "
            "hold one value per channel of dim 1 of the input",
            f"with ``{class_name}(channels=C)``; "
            f"``{class_name}(site=k)`` takes the values the trial",
            f"learned at activation site k (SITES, {len(plan.sites)} sites).",
        ]
    out.append('"""\n')
    return out


def _imports_and_constants(plan: Plan) -> list[str]:
    candidate, per_channel = plan.candidate, plan.per_channel
    out = [
        "from __future__ import annotations\n",
        "import math\n",
        "import torch\n",
        f"EXPRESSION = {candidate.text!r}",
        f"LATEX = {plan.latex!r}",
        f"PARAMS = {json.dumps(plan.values)}",
        f"TRAINABLE = {tuple(candidate.trainable)!r}",
    ]
    if per_channel:
        sites = [{n: list(v[n]) for n in per_channel} for v in plan.sites]
        out += [f"PER_CHANNEL = {per_channel!r}", f"SITES = {json.dumps(sites)}"]
    return out


def _kernels(plan: Plan) -> list[str]:
    programs = [plan.forward, plan.back_x, plan.at_values]
    if plan.back_all is not None:
        programs.append(plan.back_all)
    kernels = _kernels_used(programs)
    if not kernels:
        return []
    return ["\n# Kernels, as afsearch computes them during the search.", _runtime_source(kernels)]


def _plain_functions(plan: Plan) -> list[str]:
    """The expression as a function, and as the function at the exported values if direct."""
    fn_name, forward = plan.fn_name, plan.forward
    f_lines, f_out = program_source(forward, ["x", *plan.pnames], indent="    ")
    out = [
        "",
        f"def {fn_name}(x: torch.Tensor{plan.default_params}) -> torch.Tensor:",
        f'    """{escape_doc(plan.candidate.text)}"""',
        *f_lines,
    ]
    result = forward.outputs[0]
    if isinstance(result, Slot) and result.index == 0:
        out.append("    return x.clone()")
    elif depends_on_input(forward, result):
        out.append(f"    return {f_out[0]}")
    else:
        out.append(f"    return torch.zeros_like(x) + {f_out[0]}")
    if plan.direct:
        d_lines, d_out = program_source(plan.at_values, ["x"], indent="    ")
        out += [
            "\n",
            f"def _{fn_name}_at_exported_values(x: torch.Tensor) -> torch.Tensor:",
            '    """The expression with every parameter at its exported value."""',
            *d_lines,
            f"    return {d_out[0]}",
        ]
    return out
