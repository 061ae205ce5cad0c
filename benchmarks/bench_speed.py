"""Speed of activations in trials and in exported code, before and after, side by side.

    python benchmarks/bench_speed.py --before /tmp/afsearch-before        # about 10 minutes
    python benchmarks/bench_speed.py --quick --before /tmp/afsearch-before
    python benchmarks/bench_speed.py --json benchmarks/results/bench_speed.json

``--before`` names a checkout of afsearch from before the changes measured (for example
``git worktree add /tmp/afsearch-before <commit>``). Each round runs this file again in two
fresh interpreters, one importing afsearch from that checkout (``PYTHONPATH``), one from this
one; every figure is a ratio measured inside one interpreter with its variants taking turns
pass by pass (or epoch by epoch), so background load on a shared machine hits both sides of a
ratio alike. The report gives the median over rounds. torch runs on one thread.

Rows (the targets of the speed issue):

- ``epoch``: one training epoch (median over epochs 2-4 of fresh fits) of mnist1d-mlp and
  digits-mlp with the module a trial builds: a degree-6 Chebyshev SLAF against ``nn.ReLU``
  (target 1.5), and Swish with a fixed beta of 1, GELU and a trainable Swish beta against
  ``nn.SiLU``, ``nn.GELU`` and ``F.silu(beta*x)/beta`` in plain torch (target 1.1);
- ``compiled export``: the exported Swish with beta trainable, trainable then frozen with
  ``requires_grad_(False)``, and fixed, under ``torch.compile``, forward+backward on float32
  tensors against the better of native SiLU eager and compiled (target 1.1);
- ``eager export``: the exported SiLU, GELU, ELU, Mish and Softplus in eager mode against the
  native op: time (target 1.5) and peak memory of one pass above its inputs (target 1.1),
  read as the process's high-water mark after resetting it (``/proc/self/clear_refs``), with
  glibc returning every large block to the system (``MALLOC_MMAP_THRESHOLD_``);
- ``cost`` (after only): the ``activation_cost`` and ``activation_memory`` a trial reports.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES = (1 << 20, 1 << 22, 1 << 24)
QUICK_SIZES = (1 << 20,)
TASKS = ("mnist1d-mlp", "digits-mlp")
EXPORTED = {
    "SiLU": ({"family": "swish"}, "silu"),
    "GELU": ({"family": "gelu"}, "gelu"),
    "ELU": ({"family": "elu"}, "elu"),
    "Mish": ({"family": "mish"}, "mish"),
    "Softplus": ({"family": "softplus"}, "softplus"),
}
TARGETS = {"epoch-slaf": 1.5, "epoch-native": 1.1, "compiled": 1.1, "eager": 1.5, "memory": 1.1}
_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}


# --- child: measures one side ------------------------------------------------------------------


def _trial_module(candidate: Any) -> Any:
    """The module a trial builds, in whichever afsearch is imported."""
    from afsearch.compiler import CompiledActivation

    try:
        return CompiledActivation(candidate, fold=True, fused=None)
    except TypeError:  # before: the interpreted program
        return CompiledActivation(candidate)


def _epochs(task: Any, make: Callable[[], Any], n: int = 4) -> list[float]:
    run = task.fit(make, seed=0, device="cpu")
    out = []
    for _ in range(n):
        start = time.perf_counter()
        next(run)
        out.append(time.perf_counter() - start)
    return out[1:]


def epoch_rows(repeats: int) -> dict[str, float]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    from afsearch.activations import build
    from afsearch.tasks import get_task

    class NativeSwishBeta(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.beta = nn.Parameter(torch.tensor(1.0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.silu(self.beta * x) / self.beta

    slaf = build({"family": "slaf", "basis": "chebyshev", "degree": 6})
    swish = build({"family": "swish", "beta": 1.0})
    gelu = build({"family": "gelu"})
    swish_beta = build({"family": "swish", "beta": 1.0, "trainable": True})
    variants: dict[str, Callable[[], Any]] = {
        "relu": nn.ReLU,
        "slaf": lambda: _trial_module(slaf),
        "silu": lambda: _trial_module(swish),
        "nn.SiLU": nn.SiLU,
        "gelu": lambda: _trial_module(gelu),
        "nn.GELU": nn.GELU,
        "swish-beta": lambda: _trial_module(swish_beta),
        "native swish-beta": NativeSwishBeta,
    }
    pairs = {
        "slaf/relu": ("slaf", "relu"),
        "silu/nn.SiLU": ("silu", "nn.SiLU"),
        "gelu/nn.GELU": ("gelu", "nn.GELU"),
        "swish-beta/native": ("swish-beta", "native swish-beta"),
    }
    out: dict[str, float] = {}
    for name in TASKS:
        task = get_task(name)
        _epochs(task, nn.ReLU, 2)  # builds the data set once
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(repeats):
            for k, make in variants.items():
                times[k] += _epochs(task, make)
        med = {k: statistics.median(v) for k, v in times.items()}
        out[f"{name} relu epoch s"] = med["relu"]
        for label, (a, b) in pairs.items():
            out[f"{name} {label}"] = med[a] / med[b]
    return out


def _import_exported(config: dict[str, Any], name: str, folder: Path) -> Any:
    from afsearch.activations import build
    from afsearch.compiler import render_module

    path = folder / f"{name}.py"
    path.write_text(render_module(build(config), name))
    spec = importlib.util.spec_from_file_location(f"_bench_speed_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def _pass(fn: Callable[[Any], Any], x: Any, g: Any) -> float:
    x.grad = None
    start = time.perf_counter()
    fn(x).backward(g)
    elapsed = time.perf_counter() - start
    x.grad = None
    return elapsed


def _timed(variants: dict[str, Callable[[Any], Any]], x: Any, g: Any, repeats: int) -> dict:
    for fn in variants.values():
        _pass(fn, x, g)
        _pass(fn, x, g)
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(repeats):
        for k, fn in variants.items():
            samples[k].append(_pass(fn, x, g))
    return {k: statistics.median(v) for k, v in samples.items()}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _peak(fn: Callable[[Any], Any], x: Any, g: Any) -> float | None:
    """Bytes of one pass above what is resident before it (None where it cannot be read)."""
    import gc

    _pass(fn, x, g)
    gc.collect()
    before = _status_kib("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    y = fn(x)
    y.backward(g)
    peak = _status_kib("VmHWM")
    del y
    x.grad = None
    return float(peak - before) * 1024


def export_rows(sizes: tuple[int, ...], repeats: int, folder: Path) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    out: dict[str, float] = {}
    swish = _import_exported({"family": "swish", "trainable": True}, "SwishBeta", folder)
    trainable = swish()
    frozen = swish()
    frozen.p_beta.requires_grad_(False)
    fixed = swish(trainable=False)
    compiled = {
        "native": F.silu,
        "native+c": torch.compile(F.silu),
        "trainable+c": torch.compile(trainable),
        "frozen+c": torch.compile(frozen),
        "fixed+c": torch.compile(fixed),
    }
    eager = {
        label: _import_exported(cfg, f"Bench{label}", folder)()
        for label, (cfg, _) in EXPORTED.items()
    }
    gen = torch.Generator().manual_seed(0)
    for n in sizes:
        x = (2 * torch.randn(n, generator=gen)).requires_grad_()
        g = torch.randn(n, generator=gen)
        med = _timed(compiled, x, g, repeats)
        best = min(med["native"], med["native+c"])
        for k in ("trainable+c", "frozen+c", "fixed+c"):
            out[f"compiled swish {k[:-2]} {n >> 20}M"] = med[k] / best
        for label, (_, op) in EXPORTED.items():
            native = getattr(F, op)
            med = _timed({"native": native, "export": eager[label]}, x, g, repeats)
            out[f"eager {label} {n >> 20}M time"] = med["export"] / med["native"]
            p_native, p_export = _peak(native, x, g), _peak(eager[label], x, g)
            if p_native and p_export is not None:
                out[f"eager {label} {n >> 20}M memory"] = p_export / p_native
        del x, g
    return out


def cost_rows() -> dict[str, float]:
    from afsearch.activations import build

    try:
        from afsearch.compiler import measure_cost
    except ImportError:
        return {}
    out: dict[str, float] = {}
    configs = {
        "relu": {"family": "standard", "name": "relu"},
        "swish": {"family": "swish"},
        "gelu": {"family": "gelu"},
        "swish-beta": {"family": "swish", "trainable": True},
        "slaf-cheb6": {"family": "slaf", "basis": "chebyshev", "degree": 6},
        "rational": {"family": "rational"},
    }
    for label, config in configs.items():
        cost = measure_cost(_trial_module(build(config)))
        out[f"cost {label} time"] = cost.time
        out[f"cost {label} memory"] = cost.memory
    return out


def child(args: argparse.Namespace) -> None:
    import torch

    import afsearch

    torch.set_num_threads(1)
    result: dict[str, Any] = {"afsearch": str(Path(afsearch.__file__).parent)}
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        if "epoch" in args.sections:
            result.update(epoch_rows(args.repeats))
        if "export" in args.sections:
            sizes = QUICK_SIZES if args.quick else SIZES
            result.update(export_rows(sizes, args.repeats + 4, Path(tmp)))
        if "cost" in args.sections:
            result.update(cost_rows())
    print(json.dumps(result))


# --- parent: rounds of both sides, the table ---------------------------------------------------


def run_side(side: str, before: Path | None, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, **_MALLOC_ENV}
    if side == "before":
        assert before is not None
        env["PYTHONPATH"] = str(before) + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--repeats"]
    command += [str(args.repeats), "--sections", *args.sections]
    if args.quick:
        command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{side} side failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # An installed afsearch could shadow the checkout; then nothing was compared.
    imported = Path(result["afsearch"]).resolve()
    if side == "before" and before is not None and not imported.is_relative_to(before.resolve()):
        raise SystemExit(f"The before side imported afsearch from {imported}.")
    return result


def _target(key: str) -> float | None:
    if key.startswith("cost") or key.endswith("epoch s"):
        return None
    if "slaf/relu" in key:
        return TARGETS["epoch-slaf"]
    if "/" in key:
        return TARGETS["epoch-native"]
    if key.startswith("compiled"):
        return TARGETS["compiled"]
    if key.endswith("memory"):
        return TARGETS["memory"]
    return TARGETS["eager"]


def report(rounds: dict[str, list[dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    keys: list[str] = []
    for side in rounds.values():
        for r in side:
            keys += [k for k in r if k != "afsearch" and k not in keys]
    rows = [["row", "before", "after", "target", ""]]
    summary: dict[str, Any] = {}
    for key in keys:
        med = {}
        for side, results in rounds.items():
            vals = [r[key] for r in results if key in r]
            med[side] = statistics.median(vals) if vals else None
        target = _target(key)
        after = med.get("after")
        verdict = "" if target is None or after is None else ("ok" if after <= target else "MISS")
        summary[key] = {**med, "target": target}
        rows.append(
            [
                key,
                "-" if med.get("before") is None else f"{med['before']:.2f}",
                "-" if after is None else f"{after:.2f}",
                "-" if target is None else f"{target:.2f}",
                verdict,
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--before", type=Path, help="an afsearch checkout to compare against")
    parser.add_argument("--rounds", type=int, default=2, help="interpreter pairs (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="fits or passes per variant")
    parser.add_argument("--quick", action="store_true", help="1M elements only in export rows")
    parser.add_argument(
        "--sections", nargs="+", default=["epoch", "export", "cost"], help="what to measure"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sides = ["before", "after"] if args.before else ["after"]
    rounds: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
    for i in range(args.rounds):
        for side in sides:
            print(f"round {i + 1}/{args.rounds}: {side} ...", file=sys.stderr, flush=True)
            rounds[side].append(run_side(side, args.before, args))
    text, summary = report(rounds)
    print("afsearch speed: ratios (median over rounds), torch on 1 thread")
    for side, results in rounds.items():
        print(f"{side}: afsearch from {results[0]['afsearch']}")
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "rounds": rounds}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
