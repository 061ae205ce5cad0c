"""Helpers shared by ``bench_baselines``, ``bench_search``, ``bench_samplers`` and
``bench_teacher``: the machine description, mean ± std, text tables, JSON output, a temporary
work directory for databases and Ray runs, and the R² of one function against another after the
best affine map. Not a benchmark itself.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from afsearch.compiler import CompiledActivation

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"

#: The standard activations every benchmark compares against (family ``standard``).
BASELINES = ("relu", "gelu", "silu", "mish", "elu", "tanh")

# Ray's and Tune's chatter; afsearch.launch sets most of these too.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")


def machine() -> dict[str, Any]:
    """CPU model, core count, torch and Python versions."""
    import torch

    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def set_threads(n: int) -> None:
    """Torch threads of the benchmark process (training outside Ray).

    One by default, as in a Ray trial (``cpus_per_trial=1``): these networks are too small to
    gain from a second thread, and on a shared 2-core machine two threads that compete with other
    processes made an epoch 10 to 25 times slower in our measurements.
    """
    import torch

    torch.set_num_threads(n)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value, NaN for none)."""
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    if not v:
        return math.nan, math.nan
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, 0.0
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def pm(values: Sequence[float], pct: bool = True, digits: int = 1) -> str:
    """``"93.1 ± 0.4"`` (percent) or ``"0.0123 ± 0.0004"``."""
    m, s = mean_std(values)
    if math.isnan(m):
        return "n/a"
    if pct:
        return f"{100 * m:.{digits}f} ± {100 * s:.{digits}f}"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown pipe table, column-aligned so it also reads well in a terminal."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    sep = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def result_path(name: str, full: bool) -> Path:
    """``benchmarks/results/bench_NAME.json``, or ``bench_NAME_full.json`` for ``--full``."""
    return RESULTS / f"bench_{name}{'_full' if full else ''}.json"


@contextlib.contextmanager
def workdir(keep: str | None = None) -> Iterator[Path]:
    """A directory for the trial database and Ray's run folders: ``keep`` if given (kept),
    else a temporary directory removed afterwards."""
    if keep:
        path = Path(keep).resolve()
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="afsearch-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def log(*parts: Any) -> None:
    """Progress to stderr, so stdout holds only the result tables."""
    print(*parts, file=sys.stderr, flush=True)


def welch_verdict(
    a: Sequence[float], b: Sequence[float], mode: str = "max", alpha: float = 0.05
) -> dict[str, Any]:
    """Welch's t-test of ``a`` (the searched activation) against ``b`` (the baseline)."""
    from afsearch.results import welch

    t, p = welch(list(a), list(b))
    ma, _ = mean_std(a)
    mb, _ = mean_std(b)
    better = ma > mb if mode == "max" else ma < mb
    if math.isnan(p):
        verdict = "n/a"
    elif p < alpha:
        verdict = "WIN" if better else "LOSS"
    elif ma == mb:
        verdict = "tie (equal means)"
    else:
        verdict = "tie (" + ("higher" if ma > mb else "lower") + ", n.s.)"
    return {"t": t, "p": p, "delta": ma - mb, "verdict": verdict}


def fmt_p(p: float) -> str:
    return "n/a" if p is None or math.isnan(p) else (f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}")


# --- comparing functions -----------------------------------------------------------------------


def affine_r2(f: np.ndarray, g: np.ndarray) -> tuple[float, float, float]:
    """R² of ``a*f + b`` against ``g`` for the least-squares ``a``, ``b``; returns (r2, a, b)."""
    design = np.stack([f, np.ones_like(f)], axis=1)
    coef, *_ = np.linalg.lstsq(design, g, rcond=None)
    resid = g - design @ coef
    total = float(((g - g.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / total if total > 0 else math.nan
    return r2, float(coef[0]), float(coef[1])


def affine_r2_inout(
    fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, g: np.ndarray
) -> tuple[float, dict[str, float]]:
    """R² of ``a*fn(c*x + d) + b`` against ``g`` with all four fitted.

    The network can absorb an input scale and shift into the previous layer as well as the output
    ones into the next, so this is the fairer match. ``c`` and ``d`` start from a grid and are
    refined by least squares; ``a`` and ``b`` are solved exactly for each ``c``, ``d``.
    """
    from scipy.optimize import minimize

    def loss(cd: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            f = fn(cd[0] * x + cd[1])
        if not np.all(np.isfinite(f)):
            return 1e9
        r2, _, _ = affine_r2(f, g)
        return 1.0 - r2 if math.isfinite(r2) else 1e9

    starts = [(c, d) for c in (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0) for d in (-1.0, 0.0, 1.0)]
    best = min(starts, key=lambda cd: loss(np.array(cd)))
    res = minimize(loss, np.array(best), method="Nelder-Mead", options={"xatol": 1e-6})
    c, d = (float(v) for v in res.x)
    if loss(res.x) > loss(np.array(best)):
        c, d = best
    r2, a, b = affine_r2(fn(c * x + d), g)
    return r2, {"a": a, "b": b, "c": c, "d": d}


def numpy_fn(candidate: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A candidate activation as a float64 NumPy function."""
    import torch

    module = CompiledActivation(candidate, torch.float64)

    def fn(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.as_tensor(x, dtype=torch.float64)).numpy().copy()

    return fn
