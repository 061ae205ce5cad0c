"""Standalone PyTorch code for an activation.

:func:`render_module` prints a Python module that imports only torch and the standard library:
the kernels of :mod:`afsearch.compiler._runtime`, a plain function, a ``torch.autograd.Function``
whose backward SymPy derived (it saves only the input and the parameters, recomputing the rest),
and an ``nn.Module``. Everything is printed from the parsed SymPy tree: parameter names become
``p_<name>`` (names are validated identifiers), values are printed float literals, and texts are
escaped, so nothing a trial carries can inject code.
"""

from __future__ import annotations

import inspect
import json
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy

from afsearch.activations._candidate import Candidate, Param, X
from afsearch.compiler import _runtime
from afsearch.compiler._program import Slot, build_program, depends_on_input, program_source
from afsearch.exceptions import AfsearchError

_CLASS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Exported:
    module_path: Path
    json_path: Path
    class_name: str
    function_name: str


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


def _runtime_source() -> str:
    source = inspect.getsource(_runtime)
    # Drop the module docstring and the __future__/torch imports; the header has its own.
    body = source.split('"""', 2)[2]
    lines = [
        ln
        for ln in body.splitlines()
        if ln not in ("from __future__ import annotations", "import math", "import torch")
    ]
    return "\n".join(lines).strip() + "\n"


def _doc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def render_module(candidate: Candidate, class_name: str) -> str:
    """The source of a standalone module for ``candidate``."""
    class_name = check_class_name(class_name)
    fn_name = snake_case(class_name)
    names = list(candidate.params)
    pnames = [f"p_{n}" for n in names]
    syms = candidate.symbols
    inputs = [X, *syms]

    forward = build_program([candidate.expr], inputs)
    f_lines, f_out = program_source(forward, ["x", *pnames], indent="    ")
    dx = sympy.diff(candidate.expr, X)
    back_x = build_program([dx], inputs)
    bx_lines, bx_out = program_source(back_x, ["x", *pnames], indent="        ")
    dps = [sympy.diff(candidate.expr, s) for s in syms]
    back_all = build_program([dx, *dps], inputs) if syms else None
    values = {n: p.value for n, p in candidate.params.items()}
    trainable = candidate.trainable
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
    w('"""\n')
    w("from __future__ import annotations\n")
    w("import math\n")
    w("import torch\n")
    w(f"EXPRESSION = {candidate.text!r}")
    w(f"LATEX = {latex!r}")
    w(f"PARAMS = {json.dumps(values)}")
    w(f"TRAINABLE = {tuple(trainable)!r}")
    w("\n# Kernels, as afsearch computes them during the search.")
    w(_runtime_source())
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
    w(f"    def __init__(self{init_params}, trainable: bool | None = None) -> None:")
    w("        super().__init__()")
    for p, n in zip(pnames, names):
        w(f"        train = {n in trainable!r} if trainable is None else trainable")
        w(f"        value = torch.tensor(float({p}))")
        w("        if train:")
        w(f"            self.{p} = torch.nn.Parameter(value)")
        w("        else:")
        w(f'            self.register_buffer("{p}", value)')
    w("")
    w("    def forward(self, x: torch.Tensor) -> torch.Tensor:")
    call_params = "".join(f", self.{p}" for p in pnames)
    w(f"        return _{class_name}Function.apply(x{call_params})")
    w("")
    w("    def extra_repr(self) -> str:")
    w("        return ', '.join(f'{k}={float(getattr(self, \"p_\" + k)):.6g}' for k in PARAMS)")
    w("")
    return "\n".join(out)


def export_activation(
    expr: Any,
    params: Mapping[str, Param | float],
    name: str,
    out_dir: str | Path = ".",
    *,
    family: str = "expression",
    extra: Mapping[str, Any] | None = None,
) -> Exported:
    """Write ``<out_dir>/<name>.py`` and ``<out_dir>/<name>.json`` for an expression.

    ``params`` maps each parameter to a value or a :class:`Param` (value and trainability).
    """
    from afsearch.activations._identity import fingerprint, id_of_fingerprint

    norm = {n: p if isinstance(p, Param) else Param(p, False) for n, p in params.items()}
    candidate = Candidate(expr, norm, family)
    check_class_name(name)
    source = render_module(candidate, name)
    fp = fingerprint(candidate)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        module_path = out / f"{name}.py"
        json_path = out / f"{name}.json"
        module_path.write_text(source)
        record = {
            "name": name,
            "expression": candidate.text,
            "srepr": sympy.srepr(candidate.expr),
            "latex": sympy.latex(candidate.expr),
            "params": {n: {"value": p.value, "trainable": p.trainable} for n, p in norm.items()},
            "family": family,
            "activation_id": id_of_fingerprint(fp),
            "fingerprint": fp,
            **dict(extra or {}),
        }
        json_path.write_text(json.dumps(record, indent=2) + "\n")
    except OSError as exc:
        raise AfsearchError(
            f"Could not write the export to {str(out)!r}: {exc.strerror}."
        ) from None
    return Exported(module_path, json_path, name, snake_case(name))
