"""What an activation costs on a device, relative to ReLU: time and memory of forward+backward.

:func:`activation_cost` times ``y = f(x); y.backward(g)`` for the module a trial trains with and
for ``torch.relu`` on the same tensor, taking turns pass by pass so that background load hits
both alike, and returns the ratio of the medians. Memory is what one pass keeps between forward
and backward, which is what an activation adds to a network's peak: the output and every tensor
autograd saves, distinct storages, the input left out (it belongs to the layer before). ReLU
keeps one tensor (its output, which it also saves). The result is cached per process, so a
worker measures each function once per device.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

#: Elements of the tensor the cost is measured on (a quarter of a mebibyte of float32 per
#: tensor: large enough that arithmetic, not dispatch, dominates on a CPU, small enough to take
#: a fraction of a second for a degree-8 polynomial).
COST_NUMEL = 1 << 16
COST_REPEATS = 15


@dataclass(frozen=True)
class Cost:
    """Forward+backward time and memory of an activation relative to ReLU's."""

    time: float
    memory: float


def _pass(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, g: torch.Tensor) -> float:
    x.grad = None
    if x.is_cuda:
        torch.cuda.synchronize(x.device)
    start = time.perf_counter()
    fn(x).backward(g)
    if x.is_cuda:
        torch.cuda.synchronize(x.device)
    return time.perf_counter() - start


def kept_bytes(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> int:
    """Bytes one forward pass keeps for the backward pass: output and saved tensors."""
    storages: dict[int, int] = {}
    own = x.untyped_storage().data_ptr()

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        if s.data_ptr() != own:
            storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = fn(x)
    storages[y.untyped_storage().data_ptr()] = y.untyped_storage().nbytes()
    return sum(storages.values())


def measure_cost(
    module: torch.nn.Module,
    device: str | torch.device = "cpu",
    numel: int = COST_NUMEL,
    repeats: int = COST_REPEATS,
) -> Cost:
    """``module``'s forward+backward time and kept memory relative to ReLU's on ``device``."""
    device = torch.device(device)
    module = module.to(device)
    gen = torch.Generator().manual_seed(0)
    x = (2 * torch.randn(numel, generator=gen)).to(device).requires_grad_()
    g = torch.randn(numel, generator=gen).to(device)
    relu: Callable[[torch.Tensor], torch.Tensor] = torch.relu
    for fn in (module, relu, module):
        _pass(fn, x, g)
    mine, base = [], []
    for _ in range(repeats):
        mine.append(_pass(module, x, g))
        base.append(_pass(relu, x, g))
    ratio = statistics.median(mine) / max(statistics.median(base), 1e-9)
    memory = kept_bytes(module, x) / max(kept_bytes(relu, x), 1)
    x.grad = None
    return Cost(time=ratio, memory=memory)


_CACHE: dict[tuple[str, str], Cost] = {}


def activation_cost(key: str, make: Callable[[], torch.nn.Module], device: str = "cpu") -> Cost:
    """:func:`measure_cost` of ``make()``, once per ``key`` (the function's identity and how it
    runs) and device in this process."""
    found = _CACHE.get((key, str(device)))
    if found is None:
        found = _CACHE[(key, str(device))] = measure_cost(make(), device)
    return found
