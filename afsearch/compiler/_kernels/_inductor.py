"""The CPU kernels: a kernel's forward and backward compiled by inductor once per structure.

Each is traced by ``make_fx`` with symbolic shapes (one graph for every input size, on the
flattened input) with the coefficients as one vector input, and compiled by
``torch._inductor.standalone_compile``. The compiled artifact is saved in
``afsearch-kernels/`` beside inductor's own caches (in ``TORCHINDUCTOR_CACHE_DIR``, by default
``/tmp/torchinductor_<user>``), keyed by the structure, the dtype, the torch version, the
thread count (inductor fixes a kernel's threads when it compiles) and a digest of the
kernels' source. The first process on a machine compiles a structure (seconds to half a
minute), later ones load the file (milliseconds, once torch's compile stack is imported), and
every trial of the structure in a process shares one compiled function. Calling the compiled
graph directly skips dynamo's guards, which at a trial's sizes (thousands of elements) cost
more than the arithmetic. A compile that fails (no C++ compiler, an unsupported torch) warns
once and leaves the kernel in eager torch ops.

Private torch entry points used here: ``torch._inductor.standalone_compile`` and
``torch._inductor.CompiledArtifact``. Tested with torch 2.14.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from afsearch.compiler._kernels._base import BaseKernel

#: The torch releases this module was checked against (major.minor).
TESTED_WITH = ("2.14",)

_FAILED = (
    "Compiling the {what} of {kernel} failed ({error}); it runs in eager torch ops, which is "
    "slower. Install a C++ compiler, or set the space's compile: never to silence this."
)

Compiled = Callable[..., Any]


@functools.cache
def _source_digest() -> str:
    """A digest of the kernels' code: an artifact of older code is never loaded."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def store() -> Path:
    """``afsearch-kernels/`` in inductor's cache directory: ``TORCHINDUCTOR_CACHE_DIR``, else
    inductor's default, ``<tmp>/torchinductor_<user>`` (found without importing inductor, so
    asking whether a kernel is compiled costs no import of torch's compile stack)."""
    root = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if root is None:
        try:
            user = getpass.getuser()
        except (KeyError, ModuleNotFoundError, OSError):
            user = f"uid_{os.getuid()}" if hasattr(os, "getuid") else "unknown_user"
        root = os.path.join(
            tempfile.gettempdir(), "torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user)
        )
    return Path(root).resolve() / "afsearch-kernels"


def artifact_path(kernel: BaseKernel, dtype: torch.dtype, what: str) -> Path:
    """Where the compiled ``what`` (``forward``, ``backward``, ``backward-x``) is kept."""
    threads = f"threads={torch.get_num_threads()}"
    key = "|".join([repr(kernel), str(dtype), what, torch.__version__, threads, _source_digest()])
    return store() / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.bin"


def on_disk(kernel: BaseKernel, dtype: torch.dtype, coeffs: bool) -> bool:
    """Whether this machine has compiled what a training of ``kernel`` in ``dtype`` runs (the
    backward with coefficient gradients where ``coeffs``): a process loads it, no compile."""
    needed = ("forward", "backward" if coeffs else "backward-x")
    return all(artifact_path(kernel, dtype, what).exists() for what in needed)


def _examples(kernel: BaseKernel, dtype: torch.dtype, tensors: int) -> list[torch.Tensor]:
    # 64 elements: any size above 1 traces the same symbolic graph.
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(64, generator=gen, dtype=dtype) for _ in range(tensors)]
    return [*xs, torch.randn(kernel.inputs, generator=gen, dtype=dtype)]


def _compile(fn: Callable[..., Any], examples: Sequence[torch.Tensor]) -> Compiled:
    from torch.fx.experimental.proxy_tensor import make_fx

    graph = make_fx(fn, tracing_mode="symbolic")(*examples)
    return torch._inductor.standalone_compile(graph, list(examples), dynamic_shapes="from_graph")


def _load_or_compile(path: Path, build: Callable[[], Any]) -> Compiled:
    from torch._inductor import CompiledArtifact

    if path.exists():
        with contextlib.suppress(Exception):  # unreadable or from another build: compile anew
            return CompiledArtifact.load(path=str(path), format="binary")
    artifact = build()
    with contextlib.suppress(Exception):  # a cache that cannot be written only costs time
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        artifact.save(path=str(partial), format="binary")
        os.replace(partial, path)  # atomic: a concurrent trial reads a whole file or none
    return artifact


def _guarded(what: str, kernel: BaseKernel, dtype: torch.dtype, build: Callable[[], Any]) -> Any:
    try:
        return _load_or_compile(artifact_path(kernel, dtype, what), build)
    except Exception as error:  # any failure of the toolchain leaves the eager kernel
        warnings.warn(
            _FAILED.format(
                what=what, kernel=kernel, error=f"{type(error).__name__}: {error}"[:200]
            ),
            RuntimeWarning,
            stacklevel=4,
        )
        return None


@functools.lru_cache(maxsize=256)
def compiled_forward(kernel: BaseKernel, dtype: torch.dtype) -> Compiled | None:
    """``f(x_flat, coeffs) -> (y_flat,)``, or None where compiling failed."""

    # Traced functions go unannotated: FX keeps string annotations as globals of the graph,
    # which inductor's cache cannot key on.
    def forward(x, cs):
        return (kernel.forward(x, [cs[i] for i in range(kernel.inputs)]),)

    examples = _examples(kernel, dtype, 1)
    return _guarded("forward", kernel, dtype, lambda: _compile(forward, examples))


@functools.lru_cache(maxsize=512)
def compiled_backward(kernel: BaseKernel, dtype: torch.dtype, coeffs: bool) -> Compiled | None:
    """``f(x_flat, grad_flat, coeffs) -> (grad_x,)`` or, with ``coeffs``, ``(grad_x,
    coefficient grads as one vector)``; None where compiling failed."""

    def backward(x, grad, cs):
        grad_x, grads = kernel.backward(x, grad, [cs[i] for i in range(kernel.inputs)], coeffs)
        return (grad_x,) if grads is None else (grad_x, torch.stack(grads))

    what = "backward" if coeffs else "backward-x"
    examples = _examples(kernel, dtype, 2)
    return _guarded(what, kernel, dtype, lambda: _compile(backward, examples))
