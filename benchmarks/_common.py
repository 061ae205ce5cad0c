"""The runner helper of every benchmark in this folder; not a benchmark itself.

Each benchmark runs as ``python benchmarks/NAME.py`` with the interpreter that has afsearch
installed, so its own folder is on ``sys.path`` and ``import _common`` finds this file. It uses
afsearch's public API only (what each subpackage's ``__init__`` exports) and nothing from the
tests. Shared here:

- running: :func:`arguments` (the parser with ``--quick``/``--full`` and ``--json``),
  :func:`add_launch_options` / :func:`launch_kwargs` and :func:`add_training_options`, the console
  script :data:`AFSEARCH_CLI`, :func:`set_threads`, :func:`workdir` for databases and Ray runs,
  :func:`log` for progress on stderr;
- results: :func:`run_info` (machine, mode, command), :func:`result_path` and :func:`save`
  (``benchmarks/results/NAME.json``), :func:`write_json`;
- timing: :class:`Stopwatch` and :func:`timings`;
- statistics and tables: :func:`mean_std`, :func:`pm`, :func:`table`, :func:`fmt_p` (verdicts
  come from ``afsearch.confirm``: ``judge``, ``welch``, ``difference_interval``);
- stores: :func:`create_study` and :func:`finished_trials` (a study of finished trials written
  through ``TrialStore``);
- functions: :func:`numpy_fn`, :func:`affine_r2` and :func:`affine_r2_inout`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from afsearch.compiler import CompiledActivation
from afsearch.store import TrialStatus, TrialStore

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
DOCS = ROOT / "docs"
#: The ``afsearch`` console script of this interpreter (benchmarks that time the CLI or drive it).
AFSEARCH_CLI = str(Path(sys.executable).parent / "afsearch")

#: The standard activations every benchmark compares against (family ``standard``).
BASELINES = ("relu", "gelu", "silu", "mish", "elu", "tanh")

# Ray's and Tune's chatter; afsearch.launch sets most of these too.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")


# --- running -----------------------------------------------------------------------------------


def arguments(
    doc: str | None,
    *,
    quick: str | None = None,
    full: str | None = None,
    json: str | None = None,
) -> argparse.ArgumentParser:
    """The benchmark's parser, described by the first line of its docstring ``doc``.

    ``--quick`` and ``--full`` (mutually exclusive) are added when their help texts are given,
    and ``--json PATH`` (the result file) when ``json``, its help text, is.
    """
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    if quick is not None or full is not None:
        mode = parser.add_mutually_exclusive_group()
        if quick is not None:
            mode.add_argument("--quick", action="store_true", help=quick)
        if full is not None:
            mode.add_argument("--full", action="store_true", help=full)
    if json is not None:
        parser.add_argument("--json", type=Path, metavar="PATH", help=json)
    return parser


def add_launch_options(parser: argparse.ArgumentParser, max_concurrent: bool = False) -> None:
    """``--cpus`` (of the local Ray instance, 2 by default), ``--address`` (a Ray cluster), if
    asked ``--max-concurrent``, and ``--workdir`` (keep the databases and Ray runs);
    :func:`launch_kwargs` turns the first three into ``launch`` arguments."""
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    parser.add_argument("--address", help="Ray cluster address (default: local Ray)")
    if max_concurrent:
        parser.add_argument("--max-concurrent", type=int, help="concurrent trials (default 2)")
    parser.add_argument("--workdir", help="keep the databases and Ray runs here")


def launch_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``launch`` arguments from :func:`add_launch_options`: local Ray on ``--cpus`` CPUs, or the
    cluster at ``--address``."""
    kwargs: dict[str, Any] = {
        "num_cpus": None if args.address else args.cpus,
        "address": args.address,
    }
    if hasattr(args, "max_concurrent"):
        kwargs["max_concurrent"] = args.max_concurrent
    return kwargs


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--threads`` of the re-training in the benchmark's own process."""
    parser.add_argument("--device", default="cpu", help="device of the re-training")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (re-training)")


def set_threads(n: int) -> None:
    """Torch threads of the benchmark process (training outside Ray).

    One by default, as in a Ray trial (``cpus_per_trial=1``): these networks are too small to
    gain from a second thread, and on a shared 2-core machine two threads that compete with other
    processes made an epoch 10 to 25 times slower in our measurements.
    """
    import torch

    torch.set_num_threads(n)


@contextlib.contextmanager
def workdir(keep: str | os.PathLike[str] | None = None) -> Iterator[Path]:
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


# --- results -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, core count, torch and Python versions, and the date."""
    import torch

    cpu = platform.processor() or platform.machine() or "unknown"
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


def run_info(name: str, full: bool) -> dict[str, Any]:
    """The head of a result file of the benchmark ``benchmarks/NAME.py`` with modes
    ``--quick``/``--full``: its name, mode, command line and :func:`machine`."""
    flag = "--full" if full else "--quick"
    return {
        "benchmark": name.removeprefix("bench_"),
        "mode": flag[2:],
        "command": f"python benchmarks/{name}.py {flag}",
        "machine": machine(),
    }


def result_path(name: str, full: bool = False) -> Path:
    """``benchmarks/results/NAME.json``, or ``NAME_full.json`` for ``--full``."""
    return RESULTS / f"{name}{'_full' if full else ''}.json"


def save(data: Any, name: str, path: Path | None = None, full: bool = False) -> Path:
    """Write ``data`` to ``path`` (``--json``) or to :func:`result_path` of ``name``."""
    return write_json(path or result_path(name, full), data)


def write_json(path: Path, data: Any) -> Path:
    """``data`` as indented JSON (arrays as lists, anything else unknown as its ``str``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    return path


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


# --- timing ------------------------------------------------------------------------------------


class Stopwatch:
    """Wall seconds since it was made (``time.perf_counter``)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def timings(call: Callable[[], object], repeat: int, warmup: int = 1) -> list[float]:
    """Seconds of each of ``repeat`` calls of ``call``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


# --- statistics and tables ---------------------------------------------------------------------


def mean_std(values: Sequence[float | None]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value, NaN for none) of the finite values
    (``None``, NaN and infinities left out), for tables of runs where some diverged; the
    package's own statistics (``afsearch.confirm``) take clean values only."""
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    if not v:
        return math.nan, math.nan
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, 0.0
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def pm(values: Sequence[float | None], pct: bool = True, digits: int = 1) -> str:
    """``"93.1 ± 0.4"`` (percent) or ``"0.0123 ± 0.0004"``."""
    m, s = mean_std(values)
    if math.isnan(m):
        return "n/a"
    if pct:
        return f"{100 * m:.{digits}f} ± {100 * s:.{digits}f}"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> str:
    """A Markdown pipe table, column-aligned so it also reads well in a terminal.

    ``align`` has one letter per column, ``l`` or ``r`` (numbers); missing letters are ``l``.
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = [i < len(align) and align[i] == "r" for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(w) if rj else c.ljust(w) for c, w, rj in zip(r, widths, right, strict=True)
            )
            + " |"
        )

    sep = (
        "| "
        + " | ".join("-" * (w - 1) + ":" if rj else "-" * w for w, rj in zip(widths, right))
        + " |"
    )
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def fmt_p(p: float | None) -> str:
    """A p-value for a table: three decimals, or scientific below 0.001."""
    return "n/a" if p is None or math.isnan(p) else (f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}")


# --- stores ------------------------------------------------------------------------------------


def create_study(
    store: TrialStore,
    name: str,
    *,
    task: str = "digits-mlp",
    metric: str = "val_accuracy",
    mode: str = "max",
    num_samples: int = 0,
) -> None:
    """An empty study ``name`` (random sampler, no scheduler) for benchmarks of the store."""
    store.create_study(
        name,
        space={},
        task=task,
        metric=metric,
        mode=mode,
        sampler="random",
        scheduler="none",
        num_samples=num_samples,
    )


def finished_trials(store: TrialStore, study: str, n: int, seed: int = 0) -> None:
    """``n`` finished trials in ``study``, written as the driver writes them (``start_trial``
    then ``finish_trial``): 70% completed, 20% pruned and 10% failed, random metric values
    (none for the failed), configs of three families. About 5 ms a trial on SQLite."""
    rng = random.Random(seed)
    statuses = [TrialStatus.COMPLETED] * 7 + [TrialStatus.PRUNED] * 2 + [TrialStatus.FAILED]
    for number in range(n):
        status = rng.choice(statuses)
        beta = rng.random()
        trial_id = store.start_trial(
            study,
            tune_trial_id=f"t{number}",
            number=number,
            config={"family": rng.choice(["swish", "gelu", "slaf"]), "lr": 0.01},
            dedup_key=uuid.uuid4().hex,
        )
        store.finish_trial(
            trial_id,
            status=status,
            metric_value=None if status is TrialStatus.FAILED else rng.random(),
            best_epoch=rng.randrange(20),
            learned_params={"mean": {"beta": beta}, "per_site": {"beta": [beta]}},
        )


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
    """A candidate activation as a float64 NumPy function, through the compiler that trains it.

    Not ``afsearch.expr.evaluate``: it refuses nodes that searched candidates contain (``atan``
    and ``sinc`` of the grammar, ``pi`` of a Fourier SLAF)."""
    import torch

    module = CompiledActivation(candidate, torch.float64)

    def fn(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.as_tensor(x, dtype=torch.float64)).numpy().copy()

    return fn
