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
    class_name = check_class_name(class_name)
    per_channel = tuple(candidate.trainable) if candidate.per_channel else ()
    sites = _check_sites(sites, per_channel)
    fn_name = snake_case(class_name)
    names = list(candidate.params)
    pnames = [f"p_{n}" for n in names]
    syms = candidate.symbols
    inputs = [X, *syms]

    forward = build_program([candidate.expr], inputs)
    f_lines, f_out = program_source(forward, ["x", *pnames], indent="    ")
    # d/dx of the native form: SiLU's and GELU's derivatives are one PyTorch kernel each.
    native = native_form(candidate.expr)
    dx = sympy.diff(native, X)
    back_x = build_program([dx], inputs)
    bx_lines, bx_out = program_source(back_x, ["x", *pnames], indent="        ")
    # With parameter gradients, every derivative of the expression itself (as FusedPrograms).
    dps = [sympy.diff(candidate.expr, s) for s in syms]
    back_all = build_program([sympy.diff(candidate.expr, X), *dps], inputs) if syms else None
    values = {n: p.value for n, p in candidate.params.items()}
    trainable = candidate.trainable
    # The expression at the exported values: where that is one PyTorch op (SiLU for a Swish
    # exported with beta = 1), a module without trainable parameters runs it directly and
    # autograd uses PyTorch's own backward, as fast and as lean as the op itself.
    at_values = build_program(
        [candidate.expr.xreplace({s: fold_value(values[s.name]) for s in syms})], [X]
    )
    direct = autograd_ops(at_values) <= 1 and depends_on_input(at_values, at_values.outputs[0])
    direct = direct and not per_channel
    latex = sympy.latex(candidate.expr)
    param_doc = (
        "\n".join(
            f"    {n} = {values[n]!r} ({'trainable' if n in trainable else 'fixed'})" for n in names
        )
        or "    (none)"
    )
    sig_params = "".join(f", {p}" for p in pnames)
    default_params = "".join(f", {p}: float = {values[n]!r}" for p, n in zip(pnames, names))

    out: list[str] = []
    w = out.append
    w(f'"""{_doc(class_name)}: an activation function exported by afsearch.\n')
    w(f"Expression: {_doc(candidate.text)}")
    w(f"LaTeX: {_doc(latex)}")
    w("Parameters (exported values):")
    w(_doc(param_doc))
    w("")
    w(f"Usage: ``{class_name}()(x)``; ``{class_name}(trainable=False)`` fixes every parameter,")
    w(f"``{class_name}(trainable=True)`` trains all of them. Depends on torch alone.")
    if per_channel:
        w(f"Per channel: {', '.join(per_channel)} hold one value per channel of dim 1 of the input")
        w(f"with ``{class_name}(channels=C)``; ``{class_name}(site=k)`` takes the values the trial")
        w(f"learned at activation site k (SITES, {len(sites)} sites).")
    w('"""\n')
    w("from __future__ import annotations\n")
    w("import math\n")
    w("import torch\n")
    w(f"EXPRESSION = {candidate.text!r}")
    w(f"LATEX = {latex!r}")
    w(f"PARAMS = {json.dumps(values)}")
    w(f"TRAINABLE = {tuple(trainable)!r}")
    if per_channel:
        w(f"PER_CHANNEL = {per_channel!r}")
        w(f"SITES = {json.dumps([{n: list(v[n]) for n in per_channel} for v in sites])}")
    programs = [forward, back_x, at_values] + ([back_all] if back_all is not None else [])
    kernels = _kernels_used(programs)
    if kernels:
        w("\n# Kernels, as afsearch computes them during the search.")
        w(_runtime_source(kernels))
    w("")
    w(f"def {fn_name}(x: torch.Tensor{default_params}) -> torch.Tensor:")
    w(f'    """{_doc(candidate.text)}"""')
    out.extend(f_lines)
    result = forward.outputs[0]
    if isinstance(result, Slot) and result.index == 0:
        w("    return x.clone()")
    elif depends_on_input(forward, result):
        w(f"    return {f_out[0]}")
    else:
        w(f"    return torch.zeros_like(x) + {f_out[0]}")
    if direct:
        d_lines, d_out = program_source(at_values, ["x"], indent="    ")
        w("\n")
        w(f"def _{fn_name}_at_exported_values(x: torch.Tensor) -> torch.Tensor:")
        w('    """The expression with every parameter at its exported value."""')
        out.extend(d_lines)
        w(f"    return {d_out[0]}")
    w("\n")
    w(f"class _{class_name}Function(torch.autograd.Function):")
    w('    """Forward and the SymPy-derived backward; saves only x and the parameters."""\n')
    w("    @staticmethod")
    w(f"    def forward(ctx, x{sig_params}):  # type: ignore[override]")
    w(f"        ctx.save_for_backward(x{sig_params})")
    args = "".join(f", {p}.to(x.dtype)" for p in pnames)
    w(f"        return {fn_name}(x{args})")
    w("")
    w("    @staticmethod")
    w("    def backward(ctx, grad):  # type: ignore[override]")
    w(f"        (x{sig_params},) = ctx.saved_tensors")
    w(f"        originals = ({''.join(p + ', ' for p in pnames)})")
    for p in pnames:
        w(f"        {p} = {p}.to(x.dtype)")
    w(f"        grads: list[torch.Tensor | None] = [None] * {len(pnames)}")
    if back_all is not None:
        w("        if any(ctx.needs_input_grad[1:]):")
        ba_lines, ba_out = program_source(back_all, ["x", *pnames], indent="            ")
        out.extend(ba_lines)
        w(f"            grad_x = grad * {ba_out[0]}")
        for i, code in enumerate(ba_out[1:]):
            w(f"            if ctx.needs_input_grad[{i + 1}]:")
            if per_channel:
                # A per-channel parameter arrives shaped (C, 1, ...): sum every other dim.
                w(f"                g = grad * {code}")
                w(f"                o = originals[{i}]")
                w("                g = g.sum_to_size(o.shape) if o.dim() else g.sum()")
                w(f"                grads[{i}] = g.to(o.dtype)")
            else:
                w(f"                grads[{i}] = (grad * {code}).sum().to(originals[{i}].dtype)")
        w("        else:")
        out.extend("    " + ln for ln in bx_lines)
        w(f"            grad_x = grad * {bx_out[0]}")
    else:
        out.extend(bx_lines)
        w(f"        grad_x = grad * {bx_out[0]}")
    w("        return (grad_x, *grads)")
    w("\n")
    w(f"class {class_name}(torch.nn.Module):")
    w(f'    """{_doc(candidate.text)}, with its exported parameter values as defaults."""\n')
    init_params = "".join(f", {p}: float = {values[n]!r}" for p, n in zip(pnames, names))
    if per_channel:
        init_args = [*init_params.split(", ")[1:], "channels: int | None = None"]
        init_args += ["site: int | None = None", "trainable: bool | None = None"]
        w("    def __init__(")
        w("        self,")
        out.extend(f"        {a}," for a in init_args)
        w("    ) -> None:")
    else:
        w(f"    def __init__(self{init_params}, trainable: bool | None = None) -> None:")
    w("        super().__init__()")
    if per_channel:
        w("        if site is not None:")
        w("            if not isinstance(site, int) or not 0 <= site < len(SITES):")
        w("                raise ValueError(")
        w("                    f'site must be an activation site of the trial, 0 to '")
        w("                    f'{len(SITES) - 1}, got {site!r}.'")
        w("                )")
        w(f"            channels = len(SITES[site][{per_channel[0]!r}])")
    for p, n in zip(pnames, names):
        w(f"        train = {n in trainable!r} if trainable is None else trainable")
        w(f"        value = torch.tensor(float({p}))")
        if n in per_channel:
            w("        if site is not None:")
            w(f"            value = torch.tensor(SITES[site][{n!r}])")
            w("        elif channels is not None:")
            w("            value = value.repeat(channels)")
        w("        if train:")
        w(f"            self.{p} = torch.nn.Parameter(value)")
        w("        else:")
        w(f'            self.register_buffer("{p}", value)')
    if direct:
        w("        self._at_exported_values = False")
        w("        self._check_exported_values()")
        w("        self.register_load_state_dict_post_hook(")
        w("            lambda module, keys: module._check_exported_values()")
        w("        )")
        w("")
        w("    def _check_exported_values(self) -> None:")
        w("        # Without trainable parameters and at the exported values, the module runs the")
        w("        # expression as PyTorch's own op. Fixed parameters are constants: change one by")
        w("        # constructing the module with it or through load_state_dict.")
        w("        self._at_exported_values = all(")
        w("            not isinstance(getattr(self, 'p_' + k), torch.nn.Parameter)")
        w("            and float(getattr(self, 'p_' + k)) == v")
        w("            for k, v in PARAMS.items()")
        w("        )")
    w("")
    w("    def forward(self, x: torch.Tensor) -> torch.Tensor:")
    call_params = "".join(f", self.{p}" for p in pnames)
    if per_channel:
        call_params = "".join(f", _per_channel(self.{p}, x)" for p in pnames)
    if direct:
        w("        if self._at_exported_values:")
        w(f"            return _{fn_name}_at_exported_values(x)")
    w(f"        return _{class_name}Function.apply(x{call_params})")
    w("")
    w("    def extra_repr(self) -> str:")
    if per_channel:
        w("        # A per-channel parameter shows its mean over the channels.")
        w("        means = {k: getattr(self, 'p_' + k).detach().mean() for k in PARAMS}")
        w("        return ', '.join(f'{k}={float(v):.6g}' for k, v in means.items())")
        w("")
        w("")
        w("def _per_channel(p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:")
        w('    """A per-channel parameter shaped (C, 1, ...) to broadcast over dim 1 of x."""')
        w("    if p.dim() == 0:")
        w("        return p")
        w("    if x.dim() < 2 or x.shape[1] != p.shape[0]:")
        w("        raise ValueError(")
        w("            f'a per-channel activation with {p.shape[0]} channels takes inputs of '")
        w("            f'shape (N, {p.shape[0]}, ...), got {tuple(x.shape)}.'")
        w("        )")
        w("    return p.view((-1,) + (1,) * (x.dim() - 2))")
    else:
        w("        return ', '.join(f'{k}={float(getattr(self, \"p_\" + k)):.6g}' for k in PARAMS)")
    w("")
    return "\n".join(out)


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
