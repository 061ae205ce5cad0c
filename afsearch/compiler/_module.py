"""SymPy expression to ``torch.nn.Module``."""

from __future__ import annotations

import functools
from typing import Any, cast

import sympy
import torch
from torch import nn

from afsearch.compiler._fused import FusedFunction, FusedPrograms, autograd_ops
from afsearch.compiler._kernels import BaseKernel, apply_kernel, compiled_here, match_kernel
from afsearch.compiler._program import Program, Slot, fold_value, run_program
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate, Param, symbol

#: The fused path (``fused=None``) runs on CUDA inputs of at least this many elements: it keeps
#: no intermediate for backward (a degree-6 SLAF under autograd keeps 15 tensors the size of its
#: input), which is what a GPU runs short of. Its SymPy-derived backward has more ops than
#: autograd's, and on a CPU (memory to spare, every op's dispatch paid) it measured 1.2x to 2x
#: slower at 16K to 4M elements (benchmarks/bench_speed.py), so a CPU keeps autograd.
FUSED_MIN_NUMEL = 1 << 18


@functools.lru_cache(maxsize=256)
def _programs(expr: Any, symbols: tuple[Any, ...], native: bool) -> FusedPrograms:
    """One set of programs per expression, shared by every module (a network has one per
    layer) and every trial of the function on a worker."""
    return FusedPrograms(expr, symbols, native)


@functools.lru_cache(maxsize=64)
def _compiled(programs: FusedPrograms) -> Any:
    """``torch.compile`` of the program's forward (autograd derives the backward), one per
    programs object, so every module and trial of the function on a worker reuses it."""
    program = programs.forward

    def forward(x: torch.Tensor, *params: torch.Tensor) -> Any:
        return run_program(program, [x, *params])[0]

    return torch.compile(forward, dynamic=None)


def _call_on_input(fn: Any, constants: tuple[Any, ...], x: torch.Tensor) -> torch.Tensor:
    return fn(x, *constants)


class CompiledActivation(nn.Module):
    """An activation computed by interpreting the candidate's program on tensors.

    Trainable parameters are ``nn.Parameter`` named ``p_<name>``, fixed ones buffers of the same
    form, so ``state_dict`` keys read as the expression's parameter names. A module that runs a
    kernel holds its coefficients as one vector, ``coefficients``, and still answers
    ``p_<name>`` and writes and reads ``state_dict`` keys by name.

    >>> import torch
    >>> from afsearch.activations import build
    >>> act = CompiledActivation(build({"family": "swish", "beta": 1.0}))
    >>> x = torch.tensor([1.0])
    >>> bool(torch.allclose(act(x), torch.nn.functional.silu(x)))
    True
    """

    def __init__(
        self,
        candidate: Candidate,
        dtype: torch.dtype | None = None,
        *,
        native: bool = True,
        fold: bool = False,
        fused: bool | None = False,
        channels: int | None = None,
        inplace: bool = False,
        kernel: bool = False,
    ) -> None:
        """``native``: PyTorch's fused ops where the expression has them (SiLU, GELU, ...).
        ``fold``: fixed parameters enter the program as numbers (``x*sigmoid(beta*x)`` with a
        fixed ``beta = 1`` is then one SiLU); their buffers stay, unused, for ``state_dict``.
        ``fused``: run the program without autograd and its SymPy-derived backward
        (:class:`afsearch.compiler._fused.FusedFunction`, saving only x and the parameters);
        ``None`` decides per call: fused for CUDA inputs of at least :data:`FUSED_MIN_NUMEL`
        elements when autograd would record more than one op on them. :meth:`use_compiled`
        runs the program under ``torch.compile`` instead.
        ``channels``: the number of channels of the site's input; a per-channel candidate
        (:attr:`Candidate.per_channel`) then holds one value of each trainable parameter per
        channel, broadcast over dim 1 of the input (``(N, C)`` after a linear layer, ``(N, C,
        L)`` or ``(N, C, H, W)`` after a convolution; as ``nn.PReLU``). Without ``channels``
        it holds one value per parameter.
        ``inplace``: accepted and ignored, as timm's own activations do (timm builds
        ``act_layer(inplace=True)``); the module never writes into its input.
        ``kernel``: where the expression is a SLAF expansion (any basis, with its ReLU mix and
        linear tail) or a rational unit, run its kernel
        (:mod:`afsearch.compiler._kernels`: value and gradients in one pass each, only ``x``
        saved, every parameter a tensor input, ``fold`` ignored for it) instead of the
        program; :meth:`use_compiled` then compiles the kernel (inductor on a CPU, Triton on
        CUDA; once per structure, cached on disk), and without it the kernel runs in eager
        torch ops. :attr:`kernel` is None where no kernel matched (or ``channels`` is given:
        per-channel parameters keep the program)."""
        super().__init__()
        self.candidate = candidate
        self.names = list(candidate.params)
        self.channels: int | None = None
        if candidate.per_channel and channels is not None:
            if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
                raise AfsearchError(
                    f"channels of a per-channel activation must be a positive integer, "
                    f"got {channels!r}."
                )
            self.channels = channels
        self.kernel: BaseKernel | None = None
        self.kernel_names: tuple[str, ...] = ()
        found = match_kernel(candidate.expr) if kernel and self.channels is None else None
        # One vector holds a kernel's coefficients (all trainable or all fixed, as SLAF and
        # rational units make them); p_<name> reads each (see __getattr__ and state_dict).
        if found is not None and len({p.trainable for p in candidate.params.values()}) == 1:
            self._register_coefficients(*found, dtype)
        for name, p in candidate.params.items():
            if self.kernel is not None:
                break
            value = torch.tensor(p.value, dtype=dtype or torch.get_default_dtype())
            if p.trainable and self.channels is not None:
                value = value.repeat(self.channels)
            if p.trainable:
                self.register_parameter(f"p_{name}", nn.Parameter(value))
            else:
                self.register_buffer(f"p_{name}", value)
        expr = candidate.expr
        if fold:
            expr = expr.xreplace(
                {
                    symbol(n): fold_value(p.value)
                    for n, p in candidate.params.items()
                    if not p.trainable
                }
            )
        symbols = tuple(candidate.symbols)
        self.programs = _programs(expr, symbols, native)
        self.program: Program = self.programs.forward
        if self.kernel is not None:
            fused = False
        self.fused_min_numel = 0 if fused else FUSED_MIN_NUMEL
        if fused is None:
            fused = autograd_ops(self.program) > 1
        if fused:
            try:
                # Built now: a derivative the compiler cannot run fails here, not mid-training
                # (the module then keeps autograd), and tracing never meets SymPy.
                self.programs.backward([False] * len(symbols))
                self.programs.backward([p.trainable for p in candidate.params.values()])
            except AfsearchError:
                fused = False
        self.fused = bool(fused)
        self.compiled = False
        self._fast = self._fast_path()

    def _register_coefficients(
        self, kernel: BaseKernel, names: tuple[str, ...], dtype: torch.dtype | None
    ) -> None:
        self.kernel, self.kernel_names = kernel, names
        params = self.candidate.params
        values = torch.tensor(
            [params[n].value for n in names], dtype=dtype or torch.get_default_dtype()
        )
        if params[names[0]].trainable:
            self.register_parameter("coefficients", nn.Parameter(values))
        else:
            self.register_buffer("coefficients", values)
        self._coefficient_index = {f"p_{n}": i for i, n in enumerate(names)}

    def __getattr__(self, name: str) -> Any:
        # p_<name> of a kernel's coefficient: its element of the vector (a view that autograd
        # follows), so the module reads as one with a parameter per name.
        index = self.__dict__.get("_coefficient_index")
        if index is not None and name in index:
            return cast(torch.Tensor, super().__getattr__("coefficients"))[index[name]]
        return super().__getattr__(name)

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if self.kernel is not None:
            vector = destination.pop(prefix + "coefficients")
            for i, n in enumerate(self.kernel_names):
                destination[f"{prefix}p_{n}"] = vector[i]

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        keys = [f"{prefix}p_{n}" for n in self.kernel_names]
        if self.kernel is not None and all(k in state_dict for k in keys):
            values = [torch.as_tensor(state_dict.pop(k)) for k in keys]
            state_dict[prefix + "coefficients"] = torch.stack(values)
        super()._load_from_state_dict(state_dict, prefix, *args)

    def kernel_compiled_here(self, device: str | torch.device = "cpu") -> bool:
        """Whether :meth:`use_compiled` runs this module's kernel on ``device`` without a compile
        first (this machine compiled the structure before, or a GPU, where compiling takes
        seconds); False without a kernel."""
        if self.kernel is None:
            return False
        c = self.coefficients
        return compiled_here(self.kernel, torch.device(device).type, c.dtype, c.requires_grad)

    @property
    def input_ops(self) -> int:
        """How many ops of the program compute on the input (autograd records each)."""
        return autograd_ops(self.program)

    def use_compiled(self, on: bool = True) -> None:
        """Run the program under ``torch.compile`` (shared by every module of the function), or
        the kernel compiled (shared by every module of the structure)."""
        self.compiled = on

    def _fast_path(self) -> Any:
        # A bare input or constant has no instructions; keep the interpreter out of the way.
        out = self.program.outputs[0]
        if isinstance(out, Slot) and out.index == 0:
            return lambda x: x
        # One PyTorch op on the input (SiLU, GELU, ELU with a number alpha, ...): call it as
        # nn.SiLU would, without the interpreter's per-call work.
        instrs = self.program.instrs
        if (
            len(instrs) == 1
            and isinstance(out, Slot)
            and out.index == instrs[0].out
            and instrs[0].args[:1] == (Slot(0),)
            and not any(isinstance(a, Slot) for a in instrs[0].args[1:])
        ):
            return functools.partial(_call_on_input, instrs[0].kernel.fn, instrs[0].args[1:])
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel is not None:
            return apply_kernel(self.kernel, self.compiled, x, self.coefficients)
        if self._fast is not None:
            return self._fast(x)
        params = [getattr(self, f"p_{n}") for n in self.names]
        if self.channels is not None:
            params = [self._broadcast(p, x) for p in params]
        if self.compiled:
            out = _compiled(self.programs)(x, *params)
        elif self.fused and (
            not self.fused_min_numel or (x.is_cuda and x.numel() >= self.fused_min_numel)
        ):
            return FusedFunction.apply(self.programs, x, *params)
        else:
            out = run_program(self.program, [x, *params])[0]
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            # A constant function still has a (zero) gradient with respect to x.
            out = out + 0 * x
        return out

    def _broadcast(self, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """A per-channel parameter shaped to broadcast over dim 1 of ``x``."""
        if p.dim() == 0:
            return p
        if x.dim() < 2 or x.shape[1] != self.channels:
            raise AfsearchError(
                f"A per-channel activation with {self.channels} channels takes inputs of shape "
                f"(N, {self.channels}, ...), got {tuple(x.shape)}; pass make_activation the "
                "size of dim 1 of the activation's input."
            )
        return p.view((-1,) + (1,) * (x.dim() - 2))

    def param_values(self) -> dict[str, float]:
        """Each parameter's value (its mean over channels for a per-channel one)."""
        out = {}
        for n in self.names:
            t = getattr(self, f"p_{n}").detach()
            out[n] = float(t.mean() if t.dim() else t)
        return out

    def channel_values(self) -> dict[str, list[float]]:
        """Each per-channel parameter's value at every channel (empty without channels)."""
        values = {n: getattr(self, f"p_{n}").detach() for n in self.names}
        return {n: [float(v) for v in t.tolist()] for n, t in values.items() if t.dim()}

    def to_candidate(self) -> Candidate:
        """The candidate with the module's current (possibly learned) parameter values."""
        params = {
            n: Param(v, self.candidate.params[n].trainable) for n, v in self.param_values().items()
        }
        c = self.candidate
        return Candidate(c.expr, params, c.family, c.built_from, c.per_channel)

    def sympy(self) -> Any:
        """The expression with the current parameter values substituted."""
        return self.candidate.expr.xreplace(
            {symbol(n): sympy.Float(v) for n, v in self.param_values().items()}
        )

    def extra_repr(self) -> str:
        channels = f", channels={self.channels}" if self.channels is not None else ""
        return f"{self.candidate.expr}{channels}"
