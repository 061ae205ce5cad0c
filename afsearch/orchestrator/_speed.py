"""How a trial runs its activation: the module it builds at every site, whether it compiles,
and what the activation costs on the trial's device.

Every site gets a :class:`~afsearch.compiler.CompiledActivation` with fixed parameters folded
into its program (so a Swish with a fixed beta of 1 is PyTorch's SiLU) and the fused path on
large inputs. The space's ``compile`` key decides about ``torch.compile``: ``never``; ``always``
from the first step; ``auto`` (the default) after the first epoch, when the rest of the trial
would take longer than :data:`COMPILE_AFTER_S` in eager mode and the program records more than
one op on the input (a single PyTorch op gains nothing). A task that differentiates its
activation (a PINN) never compiles: compiled autograd has no double backward.
"""

from __future__ import annotations

from afsearch.compiler import CompiledActivation, activation_cost
from afsearch.expr import Candidate

#: ``compile: auto`` compiles when the trial's remaining epochs would take longer than this in
#: eager mode. Measured on 2 loaded CPU cores (benchmarks/bench_speed.py and the figures in
#: docs/RESULTS.md): compiling a degree-6 Chebyshev SLAF takes 8 to 40 s with a warm inductor
#: cache and about 70 s cold, and the compiled activation saves about a quarter of an mnist1d-mlp
#: epoch (4.0x ReLU's epoch eager, 3.1x compiled), so compiling pays back after 160 to 280 s of
#: eager training; 300 s leaves room for a cold cache.
COMPILE_AFTER_S = 300.0
#: Epoch metrics every trial reports: forward+backward time per element and the memory kept
#: for backward, each relative to ReLU's on the same device (afsearch.compiler.measure_cost).
ACTIVATION_COST = "activation_cost"
ACTIVATION_MEMORY = "activation_memory"


class TrialActivations:
    """The activation modules of one trial (all seeds), built by :meth:`make`."""

    def __init__(
        self,
        candidate: Candidate,
        key: str,
        compile_mode: str = "auto",
        derivatives: int = 0,
        device: str = "cpu",
    ) -> None:
        self.candidate = candidate
        self.key = key
        self.device = device
        self.derivatives = derivatives
        self.modules: list[CompiledActivation] = []
        self.compiled = False
        probe = self._module()
        worth = probe.input_ops > 1 and derivatives == 0
        self.compile_mode = compile_mode if worth else "never"
        self._cost: dict[str, float] | None = None

    def _module(self, channels: int | None = None) -> CompiledActivation:
        # A task that differentiates the activation needs autograd's double backward.
        fused = None if self.derivatives == 0 else False
        return CompiledActivation(self.candidate, fold=True, fused=fused, channels=channels)

    def make(self, channels: int | None = None) -> CompiledActivation:
        """A module for one activation site (the task calls this once per site), with one
        value per channel of a per-channel candidate's trainable parameters."""
        module = self._module(channels)
        if self.compile_mode == "always" or self.compiled:
            module.use_compiled()
            self.compiled = True
        self.modules.append(module)
        return module

    def after_epoch(self, epoch: int, epoch_seconds: float | None, epochs: int) -> dict[str, float]:
        """Compile from the next epoch on when ``auto`` says it pays; the cost metrics."""
        left = epochs - epoch
        if (
            self.compile_mode == "auto"
            and not self.compiled
            and epoch_seconds is not None
            and epoch_seconds * left > COMPILE_AFTER_S
        ):
            for m in self.modules:
                m.use_compiled()
            self.compiled = True
        return self.cost()

    def cost(self) -> dict[str, float]:
        """The activation's cost metrics, measured once per function and device per worker."""
        if self._cost is None:
            found = activation_cost(f"{self.key}:{self.derivatives}", self._module, self.device)
            self._cost = {ACTIVATION_COST: found.time, ACTIVATION_MEMORY: found.memory}
        return dict(self._cost)
