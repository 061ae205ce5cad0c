"""The classes of a rendered module: the ``torch.autograd.Function`` and the ``nn.Module``.

The function saves only the input and the parameters and recomputes the rest in its backward,
which takes the gradient of x alone unless a parameter needs its own. The module holds one
parameter or buffer per expression parameter, one value per channel for a per-channel
candidate, and runs the expression as PyTorch's own op where the plan allows it.
"""

from __future__ import annotations

from afsearch.compiler._program import program_source
from afsearch.compiler._source_plan import Plan, escape_doc


def autograd_function(plan: Plan) -> list[str]:
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


def _backward_gradients(plan: Plan) -> list[str]:
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


def module_class(plan: Plan) -> list[str]:
    text = escape_doc(plan.candidate.text)
    out = [
        "\n",
        f"class {plan.class_name}(torch.nn.Module):",
        f'    """{text}, with its exported parameter values as defaults.\n',
        "    ``inplace`` is accepted and ignored, as timm's own activations do: timm builds",
        '    ``act_layer(inplace=True)``, and this module never writes into its input."""\n',
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


def _module_init(plan: Plan) -> list[str]:
    """The module's ``__init__``: one parameter or buffer per expression parameter."""
    per_channel, init_params = plan.per_channel, plan.default_params
    if per_channel:
        init_args = [*init_params.split(", ")[1:], "channels: int | None = None"]
        init_args += ["site: int | None = None", "trainable: bool | None = None"]
        init_args.append("inplace: bool = False")
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
            "    def __init__(",
            f"        self{init_params}, trainable: bool | None = None, inplace: bool = False",
            "    ) -> None:",
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


def per_channel_helper() -> list[str]:
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
