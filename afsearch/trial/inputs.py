"""Where an activation's curve matters: the inputs each activation site sees in training.

A trial samples what its first run's activation modules receive while they train and reports,
each epoch, quantiles of that epoch's sample inside its learned values (the ``learned_params``
JSON, so the store needs no new column)::

    {"mean": ..., "per_site": ..., "input_levels": [0.001, ...], "input_quantiles": [[...], ...]}

one list of quantiles per site, in the order the network built its sites. Plots shade that
range and ``afsearch distill`` weighs a learned curve by it.

The sample is cheap by design: a hook on every ``every``-th training call of a module keeps
``per_call`` evenly strided elements of its input, on the input's device, and only the newest
``kept`` of them, so the quantiles describe the end of the epoch; the quantiles are nearest-rank
ones of that sample, once per epoch. On one CPU thread a hook costs about 3 us a call and the
quantiles about 0.2 ms a site: about 2% of an mnist1d-mlp epoch with ReLU, under 1% with a
rational unit (benchmarks/bench_distill.py --overhead, docs/RESULTS.md).
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: The key of the quantile levels and of each site's quantiles in a trial's learned values.
INPUT_LEVELS = "input_levels"
INPUT_QUANTILES = "input_quantiles"
#: The quantiles recorded, as fractions.
LEVELS = (0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999)


class InputRecorder:
    """Samples the training inputs of activation modules and summarises them as quantiles.

    >>> import torch
    >>> recorder = InputRecorder(every=1)
    >>> make = recorder.watch(lambda **kw: torch.nn.Tanh())
    >>> act = make()
    >>> _ = act(torch.linspace(-2.0, 2.0, 1001))
    >>> q = recorder.take()[INPUT_QUANTILES][0]
    >>> round(q[0], 2), abs(round(q[4], 2)), round(q[-1], 2)
    (-2.0, 0.0, 2.0)
    """

    def __init__(self, every: int = 4, per_call: int = 256, kept: int = 32) -> None:
        self.every, self.per_call, self.kept = every, per_call, kept
        self.samples: list[deque[Any]] = []
        self.calls: list[int] = []
        self.handles: list[Any] = []

    def watch(self, make_activation: Callable[..., Any]) -> Callable[..., Any]:
        """``make_activation`` whose n-th module is sampled as site n; its signature is the
        original's (a network passes ``channels=`` only to a maker that names it)."""

        @functools.wraps(make_activation)
        def make(*args: Any, **kwargs: Any) -> Any:
            module = make_activation(*args, **kwargs)
            self.add(module)
            return module

        return make

    def add(self, module: Any) -> None:
        """Sample ``module``'s training inputs as the next site."""
        site = len(self.samples)
        self.samples.append(deque(maxlen=self.kept))
        self.calls.append(0)
        self.handles.append(module.register_forward_pre_hook(self._hook(site)))

    def _hook(self, site: int) -> Callable[[Any, tuple[Any, ...]], None]:
        every, per_call, samples, calls = self.every, self.per_call, self.samples, self.calls

        def hook(module: Any, args: tuple[Any, ...]) -> None:
            if not module.training or not args:
                return
            calls[site] += 1
            if (calls[site] - 1) % every:
                return
            flat = args[0].detach().reshape(-1)
            step = max(1, -(-flat.numel() // per_call))  # evenly over the whole batch
            samples[site].append(flat[::step].clone())  # not a view of the batch

        return hook

    def take(self) -> dict[str, Any]:
        """The quantiles of each site's inputs since the last call (``{}`` when no site saw
        any), for a trial's learned values; the samples are cleared."""
        import numpy as np
        import torch

        quantiles: list[list[float]] = []
        for kept in self.samples:
            if not kept:
                quantiles.append([])
                continue
            values = torch.cat([t.float() for t in kept]).cpu().numpy()
            values = values[np.isfinite(values)]
            kept.clear()
            if values.size == 0:
                quantiles.append([])
                continue
            # Nearest-rank quantiles by partial sorting: a tenth of torch.quantile's time, which
            # was most of the recorder's cost on a short epoch.
            ranks = [round(level * (values.size - 1)) for level in LEVELS]
            quantiles.append([float(v) for v in np.partition(values, ranks)[ranks]])
        if not any(quantiles):
            return {}
        return {INPUT_LEVELS: list(LEVELS), INPUT_QUANTILES: quantiles}

    def remove(self) -> None:
        """Stop sampling."""
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


def input_quantiles(learned_params: Any) -> tuple[list[float], list[list[float]]] | None:
    """The levels and each site's input quantiles a trial stored, or ``None`` when it stored
    none (an older trial, one that failed before an epoch) or they are malformed; a site that
    saw nothing has an empty list."""
    if not isinstance(learned_params, Mapping):
        return None
    levels, sites = learned_params.get(INPUT_LEVELS), learned_params.get(INPUT_QUANTILES)
    if not isinstance(levels, Sequence) or not _numbers(levels):
        return None
    if not isinstance(sites, Sequence) or isinstance(sites, str):
        return None
    out: list[list[float]] = []
    for q in sites:
        if not (isinstance(q, Sequence) and (not q or (_numbers(q) and len(q) == len(levels)))):
            return None
        out.append([float(v) for v in q])
    return [float(v) for v in levels], out


def seen_range(quantiles: Sequence[float]) -> tuple[float, float]:
    """The range of a site's inputs: its lowest and highest recorded quantiles."""
    return float(min(quantiles)), float(max(quantiles))


def _numbers(values: Any) -> bool:
    return (
        isinstance(values, Sequence)
        and not isinstance(values, str)
        and len(values) > 0
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        )
    )
