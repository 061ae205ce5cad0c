"""The one activation factory: the modules a training builds at its activation sites, whether
they compile, and what the activation costs on the training's device.

Search trials, the confirm stage and ``afsearch rerun`` all train through it, so a candidate
is judged on the module the search trained. Every site gets a
:class:`~afsearch.compiler.CompiledActivation` with fixed parameters folded into its program
(so a Swish with a fixed beta of 1 is PyTorch's SiLU) and the fused path on large inputs. A
per-site candidate gives the network's k-th site its k-th candidate, each site with its own
compile decision and cost. The ``compile`` policy decides about ``torch.compile``: ``never``;
``always`` from the first step; ``auto`` (the default) after the first epoch, when the rest of
the training would take longer than :data:`COMPILE_AFTER_S` in eager mode and the program
records more than one op on the input (a single PyTorch op gains nothing). A task that
differentiates its activation (a PINN) never compiles: compiled autograd has no double backward.

SLAF expansions and rational units run their kernel instead
(:attr:`CompiledActivation.kernel <afsearch.compiler.CompiledActivation>`), whose compile is
per structure and kept on disk, so a machine pays it once for every trial of the structure:
``never`` runs its eager torch ops, ``always`` compiles it from the first step, and ``auto``
runs it compiled from the first step where this machine has compiled the structure before (it
loads in milliseconds) and otherwise compiles it after an epoch once the rest of the training,
with the eager time earlier trials of the structure spent in this process, would take longer
than :data:`KERNEL_COMPILE_AFTER_S`. A task that differentiates its activation, and a site
with per-channel parameters, keeps the program.

>>> factory = ActivationFactory(candidate)  # doctest: +SKIP
>>> task.fit(factory.maker(), seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from afsearch.compiler import CompiledActivation, Cost, activation_cost, activation_id
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate, SiteCandidates

#: ``compile: auto`` compiles when the remaining epochs would take longer than this in eager
#: mode. Measured on 2 loaded CPU cores (benchmarks/bench_speed.py and the figures in
#: docs/RESULTS.md): compiling a degree-6 Chebyshev SLAF takes 8 to 40 s with a warm inductor
#: cache and about 70 s cold, and the compiled activation saves about a quarter of an mnist1d-mlp
#: epoch (4.0x ReLU's epoch eager, 3.1x compiled), so compiling pays back after 160 to 280 s of
#: eager training; 300 s leaves room for a cold cache.
COMPILE_AFTER_S = 300.0
#: ``compile: auto`` compiles a kernel this machine has not compiled before when its eager
#: training (the rest of this one and what earlier trials of the structure spent in this
#: process) would take longer than this. A cold compile of a degree-6 Chebyshev SLAF or a (5, 4)
#: rational unit took 12 to 30 s on 2 loaded cores (benchmarks/bench_kernels.py), and running
#: compiled saves about half of an epoch of mnist1d-mlp or digits-mlp.
KERNEL_COMPILE_AFTER_S = 30.0

#: Eager seconds each kernel structure has trained for in this process, past epochs only.
_EAGER_SECONDS: dict[Any, float] = {}

MakeActivation = Callable[..., CompiledActivation]


class _Site:
    """The modules of one site's candidate over every run, with its compile decision."""

    def __init__(
        self, candidate: Candidate, key: str, compile_mode: str, derivatives: int, device: str
    ) -> None:
        self.candidate, self.key = candidate, key
        self.derivatives, self.device = derivatives, device
        self.modules: list[CompiledActivation] = []
        self.compiled = False
        probe = self.build()
        # A per-channel candidate's sites (built with their channels) keep the program.
        self.kernel = probe.kernel is not None and not candidate.per_channel
        worth = probe.input_ops > 1 and derivatives == 0
        self.compile_mode = compile_mode if worth else "never"
        self.structure = probe.kernel
        if self.kernel and self.compile_mode == "auto" and probe.kernel_compiled_here(device):
            self.compile_mode = "always"

    def build(self, channels: int | None = None) -> CompiledActivation:
        # A task that differentiates the activation needs autograd's double backward: it keeps
        # the program (and no fused path).
        first_order = self.derivatives == 0
        return CompiledActivation(
            self.candidate,
            fold=True,
            fused=None if first_order else False,
            channels=channels,
            kernel=first_order,
        )

    def make(self, channels: int | None = None) -> CompiledActivation:
        module = self.build(channels)
        if self.compile_mode == "always" or self.compiled:
            module.use_compiled()
            self.compiled = True
        self.modules.append(module)
        return module

    def compile_now(self) -> None:
        for m in self.modules:
            m.use_compiled()
        self.compiled = True

    def cost(self) -> Cost:
        """Measured once per function, way of running and device in this process."""
        if not self.kernel:
            return activation_cost(f"{self.key}:{self.derivatives}", self.build, self.device)
        compiled = self.compile_mode != "never"

        def build() -> CompiledActivation:
            module = self.build()
            module.use_compiled(compiled)
            return module

        how = "kernel" if compiled else "kernel-eager"
        return activation_cost(f"{self.key}:{self.derivatives}:{how}", build, self.device)


class ActivationFactory:
    """The activation modules of one training of ``candidate`` (every seed of it).

    ``keys`` are the sites' activation ids (computed when not given); ``derivatives`` how many
    times the task differentiates its activation (:attr:`BaseTask.derivatives`).
    """

    def __init__(
        self,
        candidate: Candidate | SiteCandidates,
        keys: Sequence[str] | None = None,
        compile_mode: str = "auto",
        derivatives: int = 0,
        device: str = "cpu",
    ) -> None:
        self.per_site = isinstance(candidate, SiteCandidates)
        sites = list(candidate.sites) if isinstance(candidate, SiteCandidates) else [candidate]
        keys = list(keys) if keys is not None else [activation_id(c) for c in sites]
        self.sites = [_Site(c, k, compile_mode, derivatives, device) for c, k in zip(sites, keys)]
        #: The modules each run (seed) built, in the order its network asked for them.
        self.runs: list[list[CompiledActivation]] = []

    def maker(self) -> MakeActivation:
        """The ``make_activation`` of one run: its n-th call builds the network's site n."""
        built: list[CompiledActivation] = []
        self.runs.append(built)

        def make_activation(channels: int | None = None, **_: Any) -> CompiledActivation:
            # Keyword arguments such as timm's inplace= have no meaning for these modules.
            site = len(built) if self.per_site else 0
            if site >= len(self.sites):
                raise AfsearchError(
                    f"The task's network asked for activation site {site + 1}, and this "
                    f"per-site candidate has {len(self.sites)} sites; the network must build "
                    "the same sites in every trial (per_site counts them once, on the driver)."
                )
            built.append(self.sites[site].make(channels))
            return built[-1]

        return make_activation

    def after_epoch(self, epoch: int, epoch_seconds: float | None, epochs: int) -> None:
        """Compile from the next epoch on where ``auto`` says it pays."""
        if epoch_seconds is None:
            return
        remaining = epoch_seconds * (epochs - epoch)
        for site in self.sites:
            if site.compile_mode != "auto" or site.compiled:
                continue
            if not site.kernel:
                if remaining > COMPILE_AFTER_S:
                    site.compile_now()
                continue
            spent = _EAGER_SECONDS[site.structure] = (
                _EAGER_SECONDS.get(site.structure, 0.0) + epoch_seconds
            )
            if spent + remaining > KERNEL_COMPILE_AFTER_S:
                site.compile_now()

    def cost(self) -> Cost:
        """The activation's cost relative to ReLU's, the mean over its sites."""
        costs = [s.cost() for s in self.sites]
        return Cost(
            sum(c.time for c in costs) / len(costs), sum(c.memory for c in costs) / len(costs)
        )
