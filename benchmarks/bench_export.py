"""Benchmark of exported activations against PyTorch's native ops: time and peak memory.

    python benchmarks/bench_export.py                  # 16M float32 elements, about 5 minutes
    python benchmarks/bench_export.py --quick          # 2M elements, fewer repeats
    python benchmarks/bench_export.py --json results.json

Every measurement is one forward and backward pass, ``y = f(x); y.backward(g)``, on a float32
tensor ``x`` that requires grad, with a fixed upstream gradient ``g``; ``x.grad`` is cleared
between passes. torch runs on 2 threads. Each activation comes in five variants:

- ``native``: the PyTorch op (``F.silu``, ``F.gelu``, ``F.elu``, ``F.mish``, ``F.softplus``);
- ``native+c``: the same op under ``torch.compile`` (default inductor), for reference;
- ``export``: the module that ``export_activation`` writes (an ``autograd.Function`` with the
  SymPy-derived backward), imported from a temporary directory, in eager mode;
- ``export+c``: that module under ``torch.compile``;
- ``afsearch``: the interpreted module of ``CompiledActivation(Candidate)``, in eager mode.

Time: the median over ``--repeats`` passes after two warm-up passes (the first compiles). The
variants take turns pass by pass, so background load on a shared machine hits them alike.
Targets: ``export+c`` at most 1.3 times native eager.

Peak memory: each variant runs in a fresh interpreter that allocates ``x`` and ``g`` and makes
two warm-up passes (compiling, for the compiled variants). It then reads its resident set size
(``VmRSS``), resets the kernel's high-water mark (writing 5 to ``/proc/self/clear_refs``, so that
neither the import of torch nor compilation counts), makes one pass and reads the high-water mark
(``VmHWM``); the difference is the peak memory of the pass above its inputs. For native SiLU that
is ``y`` plus ``x.grad``, two tensors the size of ``x``. ``MALLOC_MMAP_THRESHOLD_`` makes glibc
give every large block straight back to the system, so resident memory follows live tensors. When
the mark cannot be reset, ``ru_maxrss`` stands in (it then includes the warm-up; marked ``~``).
Target: ``export+c`` at most 1.1 times native eager.

Polynomial: a degree-8 SLAF in the power basis (Horner's rule in the exported and the afsearch
module) against the naive ``sum(a * x**i for i, a in enumerate(coeffs))`` in plain torch with
the same coefficients, eager and compiled. Coefficients are fixed, so every variant computes the
gradient with respect to ``x`` alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from _common import arguments, log, machine, set_threads, table, workdir, write_json

from afsearch.activations import build
from afsearch.compiler import CompiledActivation
from afsearch.expr import Candidate, Param
from afsearch.results import export_activation

Activation = Callable[[torch.Tensor], torch.Tensor]

THREADS = 2
TIME_TARGET = 1.3
MEMORY_TARGET = 1.1
VARIANTS = ("native", "native+c", "export", "export+c", "afsearch")
MEMORY_VARIANTS = ("native", "native+c", "export", "export+c")
SLAF_CONFIG = {"family": "slaf", "basis": "power", "degree": 8, "normalize": "none"}
SLAF_VARIANTS = ("naive", "naive+c", "export", "export+c", "afsearch", "afsearch+c")
# Glibc serves blocks from this size on with mmap and unmaps them on free (see the docstring).
_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}


@dataclass(frozen=True)
class Case:
    label: str
    config: Mapping[str, Any]
    native: Activation

    @property
    def class_name(self) -> str:
        # Not the bare family name: an exported function named like a runtime kernel (softplus,
        # sigmoid) would shadow that kernel inside the generated module.
        return f"Bench{self.label.capitalize()}"


CASES = (
    Case("SiLU", {"family": "swish"}, F.silu),
    Case("GELU", {"family": "gelu"}, F.gelu),
    Case("ELU", {"family": "elu"}, F.elu),
    Case("Mish", {"family": "mish"}, F.mish),
    Case("Softplus", {"family": "softplus"}, F.softplus),
)


# Building the variants -------------------------------------------------------------------------


def import_exported(candidate: Candidate, class_name: str, out_dir: Path) -> torch.nn.Module:
    """Export ``candidate`` into ``out_dir`` (unless it is there) and instantiate its module."""
    path = out_dir / f"{class_name}.py"
    if not path.exists():
        export_activation(
            candidate.expr, candidate.params, class_name, out_dir, family=candidate.family
        )
    name = f"_bench_export_{class_name.lower()}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"Cannot import the exported module {path}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return getattr(module, class_name)()


def activation_variants(case: Case, out_dir: Path) -> dict[str, Activation]:
    candidate = build(dict(case.config))
    exported = import_exported(candidate, case.class_name, out_dir)
    return {
        "native": case.native,
        "native+c": torch.compile(case.native),
        "export": exported,
        "export+c": torch.compile(exported),
        "afsearch": CompiledActivation(candidate),
    }


def fixed(candidate: Candidate) -> Candidate:
    """``candidate`` with every parameter fixed, so backward computes dL/dx alone."""
    params = {n: Param(p.value, False) for n, p in candidate.params.items()}
    return dataclasses.replace(candidate, params=params)


def naive_power_sum(coeffs: list[float]) -> Activation:
    def power_sum(x: torch.Tensor) -> torch.Tensor:
        return sum(a * x**i for i, a in enumerate(coeffs))  # type: ignore[return-value]

    return power_sum


def slaf_variants(out_dir: Path) -> dict[str, Activation]:
    candidate = fixed(build(SLAF_CONFIG))
    coeffs = [candidate.params[f"a{i}"].value for i in range(len(candidate.params))]
    naive = naive_power_sum(coeffs)
    exported = import_exported(candidate, "BenchSlaf8", out_dir)
    module = CompiledActivation(candidate)
    return {
        "naive": naive,
        "naive+c": torch.compile(naive),
        "export": exported,
        "export+c": torch.compile(exported),
        "afsearch": module,
        "afsearch+c": torch.compile(module),
    }


# Measuring -------------------------------------------------------------------------------------


def make_inputs(numel: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = (2 * torch.randn(numel, generator=gen)).requires_grad_()
    g = torch.randn(numel, generator=gen)
    return x, g


def forward_backward(fn: Activation, x: torch.Tensor, g: torch.Tensor) -> float:
    """Seconds for one ``y = fn(x); y.backward(g)``; clears ``x.grad`` before and after."""
    x.grad = None
    start = time.perf_counter()
    y = fn(x)
    y.backward(g)
    elapsed = time.perf_counter() - start
    del y
    x.grad = None
    return elapsed


def _rel_error(a: torch.Tensor, ref: torch.Tensor) -> float:
    return float(((a - ref).abs() / (1 + ref.abs())).max())


def time_variants(
    variants: Mapping[str, Activation],
    reference: str,
    x: torch.Tensor,
    g: torch.Tensor,
    repeats: int,
) -> dict[str, dict[str, Any]]:
    """Median seconds per variant, first-call seconds and the error against ``reference``."""
    ref_fn = variants[reference]
    y_ref = ref_fn(x).detach()
    x.grad = None
    ref_fn(x).backward(g)
    assert x.grad is not None
    grad_ref = x.grad.clone()
    x.grad = None

    results: dict[str, dict[str, Any]] = {}
    live: dict[str, Activation] = {}
    for name, fn in variants.items():
        try:
            first = forward_backward(fn, x, g)
            # Checked with grad enabled: no_grad would make torch.compile compile again.
            y = fn(x)
            error = _rel_error(y.detach(), y_ref)
            y.backward(g)
            assert x.grad is not None
            error = max(error, _rel_error(x.grad, grad_ref))
            del y
            x.grad = None
        except Exception as exc:  # a broken variant should not hide the others
            results[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"}
            continue
        results[name] = {"first_call_s": first, "max_rel_error": error, "samples_s": []}
        live[name] = fn
    del y_ref, grad_ref

    for _ in range(repeats):
        for name, fn in live.items():
            results[name]["samples_s"].append(forward_backward(fn, x, g))
    for name in live:
        results[name]["median_s"] = statistics.median(results[name]["samples_s"])
    return results


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line.")


def memory_probe(case_label: str, variant: str, numel: int, out_dir: Path) -> dict[str, Any]:
    """Run in a fresh interpreter: peak bytes of one pass above the inputs (see the docstring)."""
    set_threads(THREADS)
    case = next(c for c in CASES if c.label == case_label)
    fn = activation_variants(case, out_dir)[variant]
    x, g = make_inputs(numel)
    for _ in range(2):
        forward_backward(fn, x, g)
    gc.collect()
    baseline = _status_kib("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
        exact = True
    except OSError:
        exact = False
    y = fn(x)
    y.backward(g)
    peak = _status_kib("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_bytes": (peak - baseline) * 1024, "exact": exact}


def peak_memory(case: Case, variant: str, numel: int, out_dir: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--memory-probe",
        f"{case.label}:{variant}",
        "--numel",
        str(numel),
        "--export-dir",
        str(out_dir),
    ]
    env = {**os.environ, **_MALLOC_ENV}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last[:160]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# Reporting -------------------------------------------------------------------------------------


def _ms(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "-"
    return f"{entry['median_s'] * 1e3:.1f}" if "median_s" in entry else "error"


def _ratio(num: float | None, den: float | None, target: float | None = None) -> str:
    if num is None or not den:
        return "-"
    ratio = num / den
    mark = "" if target is None else (" ok" if ratio <= target else " MISS")
    return f"{ratio:.2f}{mark}"


def _median(results: Mapping[str, Any], name: str) -> float | None:
    return results.get(name, {}).get("median_s")


def time_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    header = ["function", *(f"{v} ms" for v in VARIANTS)]
    header += ["export/nat", "export+c/nat", "nat+c/nat", "afsearch/nat"]
    rows = []
    for label, res in results.items():
        native = _median(res, "native")
        rows.append(
            [
                label,
                *(_ms(res.get(v)) for v in VARIANTS),
                _ratio(_median(res, "export"), native),
                _ratio(_median(res, "export+c"), native, TIME_TARGET),
                _ratio(_median(res, "native+c"), native),
                _ratio(_median(res, "afsearch"), native),
            ]
        )
    return table(header, rows, align="l" + "r" * (len(header) - 1))


def memory_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    def mib(entry: Mapping[str, Any]) -> str:
        if "peak_bytes" not in entry:
            return "error"
        return ("" if entry["exact"] else "~") + f"{entry['peak_bytes'] / 2**20:.0f}"

    header = ["function", *(f"{v} MiB" for v in MEMORY_VARIANTS)]
    header += ["export/nat", "export+c/nat", "nat+c/nat"]
    rows = []
    for label, res in results.items():

        def peak(name: str, res: Mapping[str, Any] = res) -> float | None:
            return res[name].get("peak_bytes")

        native = peak("native")
        rows.append(
            [
                label,
                *(mib(res[v]) for v in MEMORY_VARIANTS),
                _ratio(peak("export"), native),
                _ratio(peak("export+c"), native, MEMORY_TARGET),
                _ratio(peak("native+c"), native),
            ]
        )
    return table(header, rows, align="l" + "r" * (len(header) - 1))


def slaf_table(res: Mapping[str, Any]) -> str:
    rows = []
    for mode, suffix in (("eager", ""), ("compiled", "+c")):
        naive = _median(res, "naive" + suffix)
        rows.append(
            [
                mode,
                _ms(res.get("naive" + suffix)),
                _ms(res.get("export" + suffix)),
                _ms(res.get("afsearch" + suffix)),
                _ratio(_median(res, "export" + suffix), naive),
                _ratio(_median(res, "afsearch" + suffix), naive),
            ]
        )
    header = ["mode", "naive ms", "export ms", "afsearch ms", "export/naive", "afsearch/naive"]
    return table(header, rows, align="lrrrrr")


def notes(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = []
    for label, res in results.items():
        for name, entry in res.items():
            if "error" in entry:
                lines.append(f"{label} {name}: {entry['error']}")
            elif entry.get("max_rel_error", 0.0) > 1e-4:
                lines.append(f"{label} {name}: max relative error {entry['max_rel_error']:.1e}")
    return lines


# Command ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace, out_dir: Path) -> dict[str, Any]:
    info = machine()
    repeats = args.repeats or (3 if args.quick else 10)
    print("afsearch export benchmark: forward+backward, float32")
    print(
        f"machine: {info['cpu']}, {info['logical_cpus']} logical CPUs, "
        f"torch {info['torch']} on {info['torch_threads']} threads, python {info['python']}"
    )
    print(f"numel {args.numel:,} ({args.numel * 4 / 2**20:.0f} MiB a tensor), {repeats} repeats")

    x, g = make_inputs(args.numel)
    timing: dict[str, dict[str, Any]] = {}
    for case in CASES:
        log(f"  timing {case.label} ...")
        timing[case.label] = time_variants(
            activation_variants(case, out_dir), "native", x, g, repeats
        )
        torch._dynamo.reset()
    log("  timing SLAF degree 8 ...")
    slaf = time_variants(slaf_variants(out_dir), "naive", x, g, repeats)
    del x, g

    memory: dict[str, dict[str, Any]] = {}
    if not args.no_memory:
        for case in CASES:
            log(f"  memory {case.label} ...")
            memory[case.label] = {
                v: peak_memory(case, v, args.numel, out_dir) for v in MEMORY_VARIANTS
            }

    print(f"\nTime: median ms of y = f(x); y.backward(g); target export+c/nat <= {TIME_TARGET}")
    print(time_table(timing))
    if memory:
        print(
            "\nPeak memory of one pass above the inputs (fresh process, VmHWM - VmRSS); "
            f"target export+c/nat <= {MEMORY_TARGET}"
        )
        print(memory_table(memory))
    print("\nDegree-8 SLAF, power basis: Horner (export, afsearch) against naive sum(a_i * x**i)")
    print(slaf_table(slaf))
    problems = notes({**timing, "SLAF": slaf})
    if problems:
        print("\nNotes:")
        print("\n".join(f"  {p}" for p in problems))
    return {
        "machine": info,
        "numel": args.numel,
        "repeats": repeats,
        "targets": {"time": TIME_TARGET, "memory": MEMORY_TARGET},
        "time": timing,
        "memory": memory,
        "slaf": slaf,
    }


def main() -> None:
    parser = arguments(
        __doc__, quick="2M elements and 3 repeats", json="also write the results to this file"
    )
    parser.add_argument("--numel", type=int, help="elements of x (default 16M, 2M with --quick)")
    parser.add_argument("--repeats", type=int, help="timed passes per variant (default 10)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    # The memory probe runs this file again in a fresh interpreter.
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    parser.add_argument("--export-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.numel is None:
        args.numel = 2 * 2**20 if args.quick else 16 * 2**20
    if args.numel < 1 or (args.repeats is not None and args.repeats < 1):
        parser.error("--numel and --repeats must be positive.")
    set_threads(THREADS)

    if args.memory_probe:
        label, variant = args.memory_probe.split(":", 1)
        print(json.dumps(memory_probe(label, variant, args.numel, args.export_dir)))
        return
    with workdir() as tmp:
        report = run(args, tmp)
    if args.json:
        print(f"\nwrote {write_json(args.json, report)}")


if __name__ == "__main__":
    main()
