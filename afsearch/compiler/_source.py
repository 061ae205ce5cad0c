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
import keyword
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy

from afsearch.compiler import _runtime
from afsearch.compiler._fused import autograd_ops
from afsearch.compiler._native import native_form
from afsearch.compiler._program import (
    Program,
    Slot,
    build_program,
    depends_on_input,
    fold_value,
    program_source,
)
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


def _doc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


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
    plan = _plan(candidate, check_class_name(class_name), sites)
    out = [
        *_module_docstring(plan),
        *_imports_and_constants(plan),
        *_kernels(plan),
        *_plain_functions(plan),
        *_autograd_function(plan),
        *_module_class(plan),
    ]
    if plan.per_channel:
        out.extend(_per_channel_helper())
    out.append("")
    return "\n".join(out)


@dataclass(frozen=True)
class _Plan:
    """What :func:`render_module` prints: the names, the exported values and the programs."""

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


def _plan(
    candidate: Candidate, class_name: str, sites: Sequence[Mapping[str, Sequence[float]]]
) -> _Plan:
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
    return _Plan(
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


def _module_docstring(plan: _Plan) -> list[str]:
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
        f'"""{_doc(class_name)}: an activation function exported by afsearch.\n',
        f"Expression: {_doc(candidate.text)}",
        f"LaTeX: {_doc(plan.latex)}",
        "Parameters (exported values):",
        _doc(param_doc),
        "",
        f"Usage: ``{class_name}()(x)``; ``{class_name}(trainable=False)`` fixes every parameter,",
        f"``{class_name}(trainable=True)`` trains all of them. Depends on torch alone.",
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


def _imports_and_constants(plan: _Plan) -> list[str]:
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


def _kernels(plan: _Plan) -> list[str]:
    programs = [plan.forward, plan.back_x, plan.at_values]
    if plan.back_all is not None:
        programs.append(plan.back_all)
    kernels = _kernels_used(programs)
    if not kernels:
        return []
    return ["\n# Kernels, as afsearch computes them during the search.", _runtime_source(kernels)]


def _plain_functions(plan: _Plan) -> list[str]:
    """The expression as a function, and as the function at the exported values if direct."""
    fn_name, forward = plan.fn_name, plan.forward
    f_lines, f_out = program_source(forward, ["x", *plan.pnames], indent="    ")
    out = [
        "",
        f"def {fn_name}(x: torch.Tensor{plan.default_params}) -> torch.Tensor:",
        f'    """{_doc(plan.candidate.text)}"""',
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


def _autograd_function(plan: _Plan) -> list[str]:
    pnames, sig_params = plan.pnames, plan.sig_params
    args = "".join(f", {p}.to(x.dtype)" for p in pnames)
    return [
        "\n",
        f"class _{plan.class_name}Function(torch.autograd.Function):",
        '    """Forward and the SymPy-derived backward; saves only x and the parameters."""\n',
        "    @staticmethod",
        f"    def forward(ctx, x{sig_params}):  # type: ignore[override]",
        f"        ctx.save_for_backward(x{sig_params})",
        f"        return {plan.fn_name}(x{args})",
        "",
        "    @staticmethod",
        "    def backward(ctx, grad):  # type: ignore[override]",
        f"        (x{sig_params},) = ctx.saved_tensors",
        f"        originals = ({''.join(p + ', ' for p in pnames)})",
        *(f"        {p} = {p}.to(x.dtype)" for p in pnames),
        f"        grads: list[torch.Tensor | None] = [None] * {len(pnames)}",
        *_backward_gradients(plan),
        "        return (grad_x, *grads)",
    ]


def _backward_gradients(plan: _Plan) -> list[str]:
    """The backward's gradients: of x alone unless a parameter needs its gradient too."""
    bx_lines, bx_out = program_source(plan.back_x, ["x", *plan.pnames], indent="        ")
    if plan.back_all is None:
        return [*bx_lines, f"        grad_x = grad * {bx_out[0]}"]
    ba_lines, ba_out = program_source(plan.back_all, ["x", *plan.pnames], indent="            ")
    out = [
        "        if any(ctx.needs_input_grad[1:]):",
        *ba_lines,
        f"            grad_x = grad * {ba_out[0]}",
    ]
    for i, code in enumerate(ba_out[1:]):
        out.append(f"            if ctx.needs_input_grad[{i + 1}]:")
        if plan.per_channel:
            # A per-channel parameter arrives shaped (C, 1, ...): sum every other dim.
            out += [
                f"                g = grad * {code}",
                f"                o = originals[{i}]",
                "                g = g.sum_to_size(o.shape) if o.dim() else g.sum()",
                f"                grads[{i}] = g.to(o.dtype)",
            ]
        else:
            out.append(
                f"                grads[{i}] = (grad * {code}).sum().to(originals[{i}].dtype)"
            )
    out += [
        "        else:",
        *("    " + ln for ln in bx_lines),
        f"            grad_x = grad * {bx_out[0]}",
    ]
    return out


def _module_class(plan: _Plan) -> list[str]:
    out = [
        "\n",
        f"class {plan.class_name}(torch.nn.Module):",
        f'    """{_doc(plan.candidate.text)}, with its exported parameter values as defaults."""\n',
        *_module_init(plan),
    ]
    if plan.direct:
        out += _exported_values_check()
    call_params = "".join(f", self.{p}" for p in plan.pnames)
    if plan.per_channel:
        call_params = "".join(f", _per_channel(self.{p}, x)" for p in plan.pnames)
    out += ["", "    def forward(self, x: torch.Tensor) -> torch.Tensor:"]
    if plan.direct:
        out += [
            "        if self._at_exported_values:",
            f"            return _{plan.fn_name}_at_exported_values(x)",
        ]
    out.append(f"        return _{plan.class_name}Function.apply(x{call_params})")
    return out + _extra_repr(plan.per_channel)


def _extra_repr(per_channel: tuple[str, ...]) -> list[str]:
    out = ["", "    def extra_repr(self) -> str:"]
    if per_channel:
        return [
            *out,
            "        # A per-channel parameter shows its mean over the channels.",
            "        means = {k: getattr(self, 'p_' + k).detach().mean() for k in PARAMS}",
            "        return ', '.join(f'{k}={float(v):.6g}' for k, v in means.items())",
        ]
    return [
        *out,
        "        return ', '.join(f'{k}={float(getattr(self, \"p_\" + k)):.6g}' for k in PARAMS)",
    ]


def _module_init(plan: _Plan) -> list[str]:
    """The module's ``__init__``: one parameter or buffer per expression parameter."""
    per_channel, init_params = plan.per_channel, plan.default_params
    if per_channel:
        init_args = [*init_params.split(", ")[1:], "channels: int | None = None"]
        init_args += ["site: int | None = None", "trainable: bool | None = None"]
        out = ["    def __init__(", "        self,", *(f"        {a}," for a in init_args)]
        out += ["    ) -> None:", "        super().__init__()"]
        out += [
            "        if site is not None:",
            "            if not isinstance(site, int) or not 0 <= site < len(SITES):",
            "                raise ValueError(",
            "                    f'site must be an activation site of the trial, 0 to '",
            "                    f'{len(SITES) - 1}, got {site!r}.'",
            "                )",
            f"            channels = len(SITES[site][{per_channel[0]!r}])",
        ]
    else:
        out = [
            f"    def __init__(self{init_params}, trainable: bool | None = None) -> None:",
            "        super().__init__()",
        ]
    trainable = plan.candidate.trainable
    for p, n in zip(plan.pnames, plan.names):
        out.append(f"        train = {n in trainable!r} if trainable is None else trainable")
        out.append(f"        value = torch.tensor(float({p}))")
        if n in per_channel:
            out += [
                "        if site is not None:",
                f"            value = torch.tensor(SITES[site][{n!r}])",
                "        elif channels is not None:",
                "            value = value.repeat(channels)",
            ]
        out += [
            "        if train:",
            f"            self.{p} = torch.nn.Parameter(value)",
            "        else:",
            f'            self.register_buffer("{p}", value)',
        ]
    return out


def _exported_values_check() -> list[str]:
    return [
        "        self._at_exported_values = False",
        "        self._check_exported_values()",
        "        self.register_load_state_dict_post_hook(",
        "            lambda module, keys: module._check_exported_values()",
        "        )",
        "",
        "    def _check_exported_values(self) -> None:",
        "        # Without trainable parameters and at the exported values, the module runs the",
        "        # expression as PyTorch's own op. Fixed parameters are constants: change one by",
        "        # constructing the module with it or through load_state_dict.",
        "        self._at_exported_values = all(",
        "            not isinstance(getattr(self, 'p_' + k), torch.nn.Parameter)",
        "            and float(getattr(self, 'p_' + k)) == v",
        "            for k, v in PARAMS.items()",
        "        )",
    ]


def _per_channel_helper() -> list[str]:
    return [
        "",
        "",
        "def _per_channel(p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:",
        '    """A per-channel parameter shaped (C, 1, ...) to broadcast over dim 1 of x."""',
        "    if p.dim() == 0:",
        "        return p",
        "    if x.dim() < 2 or x.shape[1] != p.shape[0]:",
        "        raise ValueError(",
        "            f'a per-channel activation with {p.shape[0]} channels takes inputs of '",
        "            f'shape (N, {p.shape[0]}, ...), got {tuple(x.shape)}.'",
        "        )",
        "    return p.view((-1,) + (1,) * (x.dim() - 2))",
    ]


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
