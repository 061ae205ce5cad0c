"""TPE against random search against CMA-ES (and evolution) on one space and budget.

    python benchmarks/bench_samplers.py --space structural --samplers random tpe evolution
                                                  # operator trees and parametric families:
                                                  # what sampler: evolution is for

    python benchmarks/bench_samplers.py --quick   # digits-mlp, 3 epochs, 20 trials x 3 repeats
                                                  # per sampler: ~4 min on 2 CPU cores
    python benchmarks/bench_samplers.py --full    # mnist1d-mlp, 20 epochs, 100 trials x 10
                                                  # repeats per sampler (3,000 trials): ~45 min
                                                  # on 2 cores, minutes on a Ray cluster

The space has one family, so every parameter is continuous and present in every trial, which is
what CMA-ES needs (Optuna's CMA-ES samples categorical and conditional parameters
independently, i.e. at random): TAAF ``a * silu(b*x + c) + d`` with ``a``, ``b``, ``c``, ``d``
fixed during training (``trainable: false``) and searched, plus the learning rate (log scale).
``scheduler: none``, so every trial trains to its last epoch and curves are comparable; one
training seed per trial. Repeat ``r`` uses ``seed=r`` for all three samplers, so within a repeat
the samplers share the training seed and differ only in the values they propose. With Optuna's
defaults, TPE's first 10 trials and CMA-ES's first one are drawn by a ``RandomSampler`` with
the same seed, i.e. they are the random sampler's own first draws (up to the order in which two
concurrent trials ask): only later trials show what the model-based samplers add, which the
column "mean % of trials 11-N" (the average trial, not the best) isolates. This is why
``--quick`` spends 20 trials rather than 16.

Reported per sampler: best-so-far of the task metric over the trial number, averaged over the
repeats (plotted to ``docs/samplers.png``), the final best (mean ± std), and the number of
trials it needs to reach random search's final best of the same repeat (mean over repeats; a
repeat that never reaches it counts as budget + 1 and is flagged). Writes
``benchmarks/results/bench_samplers.json`` (``bench_samplers_full.json``).

CMA-ES needs the ``cmaes`` package, which afsearch depends on.

``--space structural`` searches Ramachandran-style operator trees (``grammar``, depth 1 or 2)
beside Swish-beta and ELU, with the learning rate fixed, which CMA-ES cannot search; there the
samplers are random, TPE and ``evolution`` (population 8, tournament 3, started from relu, gelu
and silu), and results go to ``bench_samplers_structural.json`` and
``docs/samplers_structural.png``. ``tpe+prescreen`` and ``evolution+prescreen`` are those
samplers with the prescreen ranking their proposals (``PRESCREEN``, features at initialisation
included); ``prescreen`` alone is random search choosing from the prescreen's pool.
``--task`` runs the structural space on another task (``mnist1d-mlp``, ``teacher-student``;
results ``bench_samplers_structural_<task>.json``), and ``--report A.json B.json ...`` draws
the best-so-far curves of several tasks in one figure::

    python benchmarks/bench_samplers.py --space structural --task teacher-student --epochs 5 \
        --budget 30 --repeats 5 \
        --samplers random tpe evolution tpe+prescreen evolution+prescreen
    python benchmarks/bench_samplers.py --plot docs/samplers_tasks.png \
        --report benchmarks/results/bench_samplers_structural*.json

``--table FILE`` replays the strategies on a table of trained functions instead of training
(``benchmarks/make_table.py``, docs/TABLE.md): every study searches the table's own space, each
proposal is mapped to a table function and its result looked up
(:func:`afsearch.search.replay`), ``--repeats`` studies per sampler (100 by default) of
``--budget`` distinct functions (100), on ``--workers`` processes. ``--scheduler asha`` replays
ASHA from the per-epoch curves. Reported per task and sampler: the trials until a function of
the table's top 1% and top 0.1% is trained (median and quartiles over the repeats), the regret
after a quarter, half and all of the budget, and the prescreen surrogate's Spearman rho with
the true metric over the whole table; the regret curves (median, band = quartiles) go to
``docs/samplers_table.png`` and the numbers to ``bench_samplers_table.json``. With
``--table`` evolution runs with its shipped options (``initial: [relu, gelu, silu]``), and a
sampler may carry options of its own in brackets, to compare settings side by side:
``evolution[floor=0.125,draws=kind]``. Each study's trials are also counted by kind of function
(operator tree, parametric, rational, ...)::

    python benchmarks/bench_samplers.py --table benchmarks/tables/activations.parquet
    python benchmarks/bench_samplers.py --table FILE --scheduler asha --task mnist1d-mlp
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from _common import (
    DOCS,
    Stopwatch,
    add_launch_options,
    arguments,
    launch_kwargs,
    log,
    mean_std,
    run_info,
    save,
    table,
    workdir,
)

from afsearch.orchestrator import init_ray, launch
from afsearch.results import best_so_far
from afsearch.search import check_space
from afsearch.space import parse_space
from afsearch.store import trials

SAMPLERS = (
    "tpe",
    "random",
    "cmaes",
    "evolution",
    "prescreen",
    "tpe+prescreen",
    "evolution+prescreen",
)
#: ``prescreen`` is random search with the prescreen choosing each activation from its pool;
#: ``X+prescreen`` is sampler X with the prescreen ranking its proposals.
PRESCREEN = {
    "pool": 2000,
    "anchors": ["relu", "gelu", "silu"],
    "acquisition": "ucb",
    "features": ["outputs", "init"],
    "proposals": 8,
}
# Optuna's TPESampler draws its first n_startup_trials=10 at random.
STARTUP = 10
FAMILY = {
    "family": "taaf",
    "base": "silu",
    "a": {"low": 0.25, "high": 4.0, "log": True},
    "b": {"low": 0.25, "high": 4.0, "log": True},
    "c": {"low": -2.0, "high": 2.0},
    "d": {"low": -2.0, "high": 2.0},
    "trainable": False,
}
LR = {"low": 1.0e-4, "high": 3.0e-2, "log": True}
STRUCTURAL = [
    {
        "family": "grammar",
        "depth": [1, 2],
        "unary": ["x", "neg", "abs", "square", "tanh", "sigmoid", "sin", "relu", "erf", "exp"],
        "binary": ["add", "mul", "sub", "max", "min", "sigmoid_mul"],
    },
    {"family": "swish", "beta": {"low": 0.25, "high": 4.0, "log": True}},
    {"family": "elu", "alpha": {"low": 0.1, "high": 3.0}},
]
EVOLUTION = {"population": 8, "tournament": 3, "initial": ["relu", "gelu", "silu"]}
QUICK = {"task": "digits-mlp", "epochs": 3, "budget": 20, "repeats": 3}
FULL = {"task": "mnist1d-mlp", "epochs": 20, "budget": 100, "repeats": 10}


def make_space(sampler: str, plan: dict[str, Any], structural: bool = False) -> Any:
    task: dict[str, Any] = {"name": plan["task"], "epochs": plan["epochs"]}
    if plan.get("batch_size"):
        task["batch_size"] = plan["batch_size"]
    base = sampler.split("+")[0]
    if not structural:
        task["lr"] = dict(LR)
    raw: dict[str, Any] = {
        "name": f"samplers-{sampler}",
        "task": task,
        "sampler": "random" if base == "prescreen" else base,
        "scheduler": "none",
        "seeds": 1,
        "num_samples": plan["budget"],
        "max_concurrent": 2,
        "families": [dict(f) for f in STRUCTURAL] if structural else [dict(FAMILY)],
    }
    if base == "evolution":
        raw["sampler_options"] = dict(EVOLUTION)
    if "prescreen" in sampler:
        raw["prescreen"] = dict(PRESCREEN)
    space = parse_space(raw, source=f"bench_samplers:{sampler}")
    check_space(space)
    return space


def run_in_process(space: Any, seed: int, budget: int) -> tuple[list[float | None], int]:
    """One study driven as ``launch`` drives it, without Ray (:func:`afsearch.search.run_local`:
    the same strategy, sampler and prescreen as a launch, the same budget of distinct
    functions); each trial trains in this process. Returns the values of the budget's trials
    and the repeats skipped."""
    from afsearch.search import run_local
    from afsearch.trial import TrialSpec

    tasks: dict[str, Any] = {}

    def objective(proposal: Any) -> float | None:
        spec = TrialSpec(
            activation=proposal.activation,
            candidate={},
            task=space.task,
            settings=proposal.settings,
            seeds=space.seeds,
            seed=seed,
            metric=str(space.metric),
            mode=str(space.mode),
            dedup_key=proposal.key,
        )
        return train_here(spec, tasks)

    run = run_local(space, objective, budget=budget, seed=seed)
    return run.values, run.skipped


def train_here(spec: Any, tasks: dict[str, Any]) -> float | None:
    """The task's metric on the last epoch of one training (None if it diverged); the task
    (its data) is built once per settings, as a Ray worker keeps it."""
    import dataclasses

    from afsearch.activations import build
    from afsearch.compiler import CompiledActivation
    from afsearch.tasks import get_task

    key = json.dumps(dataclasses.asdict(spec.settings), sort_keys=True, default=str)
    if key not in tasks:
        tasks[key] = get_task(spec.task, spec.settings)
    task = tasks[key]
    candidate = build(spec.activation)
    last = None
    for result in task.fit(lambda: CompiledActivation(candidate), seed=spec.training_seeds[0]):
        last = result
        if result.diverged:
            return None
    return None if last is None else last.metrics.get(task.metric)


def trials_to_reach(curve: list[float | None], target: float, mode: str) -> int | None:
    for i, v in enumerate(curve):
        if v is not None and (v >= target if mode == "max" else v <= target):
            return i + 1
    return None


def _scale(data: dict[str, Any]) -> float:
    """Accuracies are shown in percent; losses as they are."""
    return 100.0 if "accuracy" in str(data.get("metric", "accuracy")) else 1.0


def _axes(ax: Any, data: dict[str, Any], title: bool = True) -> None:
    import numpy as np

    k = _scale(data)
    for sampler, d in data["samplers"].items():
        curves = np.array(
            [[np.nan if v is None else k * v for v in c] for c in d["curves"]], dtype=float
        )
        n = np.arange(1, curves.shape[1] + 1)
        mean = np.nanmean(curves, axis=0)
        lo, hi = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
        style = {"tpe": "-", "random": "--", "cmaes": "-.", "evolution": "-"}.get(sampler, ":")
        (line,) = ax.plot(n, mean, style, label=f"{sampler} (mean of {len(curves)})", lw=2)
        ax.fill_between(n, lo, hi, color=line.get_color(), alpha=0.12)
    plan = data["plan"]
    ax.set_xlabel("trial number")
    unit = " (%)" if k == 100.0 else " (log scale)"
    if k != 100.0:
        ax.set_yscale("log")
    ax.set_ylabel(f"best {data['metric']} so far{unit}")
    searched = (
        "grammar trees, swish, elu"
        if data["space"].get("lr") is None
        else "TAAF(silu) a,b,c,d + lr"
    )
    ax.set_title(
        f"{plan['task']}, {plan['epochs']} epochs: {searched}\n"
        f"mean over {plan['repeats']} repeats, band = min..max",
        fontsize=9,
    )
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if k == 100.0 else "upper right", fontsize=7)


def plot(data: dict[str, Any] | list[dict[str, Any]], path: Path) -> None:
    """Best-so-far curves; several results (tasks) side by side in one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = data if isinstance(data, list) else [data]
    fig, axes = plt.subplots(
        1, len(results), figsize=(6.4 * len(results), 4.4), dpi=110, squeeze=False
    )
    for ax, d in zip(axes[0], results, strict=True):
        _axes(ax, d)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def report(data: dict[str, Any]) -> str:
    budget = data["plan"]["budget"]
    marks = sorted({max(1, budget // 4), max(1, budget // 2)})
    rows = []
    for sampler, d in data["samplers"].items():
        reach = d["trials_to_reach_random_best"]
        hit = [r for r in reach if r is not None]
        censored = [budget + 1 if r is None else r for r in reach]
        at = [mean_std([c[k - 1] for c in d["curves"] if c[k - 1] is not None]) for k in marks]
        sc = _scale(data)
        finals = [c[-1] for c in d["curves"] if c and c[-1] is not None]
        m, s = mean_std(finals)
        late = [v for vals in d["values"] for v in vals[STARTUP:] if v is not None]
        rows.append(
            [
                sampler,
                *(f"{sc * a:.4g}" for a, _ in at),
                f"{sc * m:.4g} ± {sc * s:.2g}",
                f"{sc * mean_std(late)[0]:.4g}" if late else "n/a",
                f"{sum(censored) / len(censored):.1f}",
                f"{len(hit)}/{len(reach)}",
                " ".join("-" if r is None else str(r) for r in reach),
                f"{d['wall_s'] / len(reach):.0f}",
            ]
        )
    headers = [
        "sampler",
        *(f"best after {k}" for k in marks),
        f"best after {budget} (mean ± std)",
        f"mean of trials {STARTUP + 1}-{budget}",
        "trials to random's final best (mean)",
        "reached",
        "per repeat",
        "wall s / study",
    ]
    note = (
        f"\n\nMeans over {data['plan']['repeats']} repeats. A repeat that never reaches random "
        f"search's final best counts as {budget + 1} ('-'); random reaches its own by definition."
    )
    return table(headers, rows) + note


# --- replay on a table of trained functions (--table) -----------------------------------------

#: What ``--table`` replays by default. CMA-ES samples the table's choices (family, operators)
#: at random, as in ``--space structural``, so it is refused there.
TABLE_SAMPLERS = ("random", "tpe", "evolution", "tpe+prescreen", "evolution+prescreen")
#: Evolution as search_spaces/evolution.yaml ships it (the other options at their defaults).
EVOLUTION_SHIPPED = {"initial": ["relu", "gelu", "silu"]}
TABLE_PLAN = {"budget": 100, "repeats": 100}
#: The shares of the table a search must reach.
TOPS = (0.01, 0.001)
#: Trained functions the prescreen's surrogate is fitted on for its rank correlation.
RHO_TRAINED = (50, 200)
#: The tables of each task, loaded before the worker processes fork from this one.
_TABLES: dict[str, Any] = {}


def sampler_variant(sampler: str) -> tuple[str, dict[str, Any] | None]:
    """A ``--table`` sampler and its ``sampler_options``: evolution's shipped options with the
    ``[key=value,...]`` the name carries (values read as YAML)."""
    name, _, rest = sampler.partition("[")
    extra: dict[str, Any] = {}
    if rest:
        if not rest.endswith("]"):
            sys.exit(f"bench_samplers.py: {sampler!r} lacks its closing ']'.")
        for item in filter(None, rest[:-1].split(",")):
            key, eq, value = item.partition("=")
            if not eq:
                sys.exit(f"bench_samplers.py: {item!r} in {sampler!r} is not key=value.")
            extra[key.strip()] = yaml.safe_load(value)
    if name not in SAMPLERS or name == "cmaes":
        sys.exit(
            f"bench_samplers.py: {name!r} is not a sampler --table replays; choose from "
            + ", ".join(s for s in SAMPLERS if s != "cmaes")
            + "."
        )
    if not name.startswith("evolution"):
        if extra:
            sys.exit(f"bench_samplers.py: only evolution takes options in brackets: {sampler!r}.")
        return name, None
    return name, {**EVOLUTION_SHIPPED, **extra}


def replay_repeats(
    task: str, sampler: str, repeats: list[int], budget: int, scheduler: str
) -> list[dict[str, Any]]:
    """``repeats`` studies of ``sampler`` replayed on the table of ``task`` (repeat r: seed r)."""
    from threadpoolctl import threadpool_limits

    from afsearch.activations import kind_of
    from afsearch.search import ReplayAsha, epochs_until, reached, regret, replay, replay_space

    table = _TABLES[task]
    name, options = sampler_variant(sampler)
    space = replay_space(table, name, budget=budget, sampler_options=options, prescreen=PRESCREEN)
    asha = ReplayAsha() if scheduler == "asha" else None
    out = []
    # One BLAS thread: the prescreen's Gaussian process is 5 times slower with two threads
    # that compete for a loaded pair of cores.
    with threadpool_limits(1):
        for r in repeats:
            clock = Stopwatch()
            run = replay(table, space, seed=r, asha=asha)
            hits = [reached(run, table.top(q)) for q in TOPS]
            out.append(
                {
                    "repeat": r,
                    "reach": hits,
                    "epochs_to_reach": [None if h is None else epochs_until(run, h) for h in hits],
                    "epochs": epochs_until(run, len(run.trials)),
                    "regret": regret(run, table).tolist(),
                    "skipped": run.skipped,
                    "stopped": run.stop_reason,
                    "kinds": dict(Counter(kind_of(table.configs[t.row]) for t in run.trials)),
                    "seconds": clock.seconds,
                }
            )
    return out


def prescreen_rho(table: Any, draws: int = 5) -> dict[str, Any]:
    """Spearman's rho between the prescreen's prediction and the true metric over the whole
    table: its Gaussian process fitted on ``n`` functions trained once (one seed, as a study
    sees them), predicting every other function; the median over ``draws`` random choices of
    the ``n``. Also: how many functions the prescreen's filter removes, and how they rank."""
    import numpy as np
    from scipy.stats import spearmanr

    from afsearch.search import fit_predict

    truth = table.truth
    ok = [
        i for i, f in enumerate(table.features) if not isinstance(f, str) and np.isfinite(truth[i])
    ]
    out: dict[str, Any] = {"functions": len(truth), "screened": len(truth) - len(ok)}
    rank = (np.argsort(np.argsort(-truth)) + 1) / len(truth)
    screened = [i for i, f in enumerate(table.features) if isinstance(f, str)]
    out["screened_median_rank"] = float(np.median(rank[screened])) if screened else None
    kinds = {"outputs": [np.asarray(table.features[i]) for i in ok]}
    if table.init is not None:
        both = [(j, i) for j, i in enumerate(ok) if not isinstance(table.init[i], str)]
        kinds["outputs+init"] = [
            np.concatenate([kinds["outputs"][j], table.init[i]]) for j, i in both
        ]
        init_rows = [i for _, i in both]
    seen = table.sign * table.values[:, 0]  # what one training seed shows
    for name, vectors in kinds.items():
        rows = ok if name == "outputs" else init_rows
        x = np.stack(vectors)
        for n in RHO_TRAINED:
            if n >= len(rows) - 10 or n < 5:
                continue
            rhos = []
            for d in range(draws):
                pick = np.random.default_rng(d).permutation(len(rows))
                train, rest = pick[:n], pick[n:]
                keep = train[np.isfinite(seen[np.asarray(rows)[train]])]
                mean, _ = fit_predict(x[keep], seen[np.asarray(rows)[keep]], x[rest])
                # A surrogate that predicts one value for all ranks nothing: rho 0.
                constant = float(np.ptp(mean)) == 0.0
                rho = 0.0 if constant else spearmanr(mean, truth[np.asarray(rows)[rest]])[0]
                rhos.append(float(rho))
            out[f"rho_{name}_{n}"] = float(np.median(rhos))
    return out


def _quartiles(values: list[int | None], budget: int) -> tuple[str, int]:
    """``"median [q1, q3]"`` of trials to reach, a search that never reaches counting as more
    than the budget (shown as ``>budget``), and how many reached."""
    import numpy as np

    x = np.array([np.inf if v is None else v for v in values], dtype=float)
    q = np.percentile(x, [50, 25, 75], method="nearest") if len(x) else [np.inf] * 3
    shown = [f">{budget}" if not np.isfinite(v) else f"{v:.0f}" for v in q]
    return f"{shown[0]} [{shown[1]}, {shown[2]}]", int(np.isfinite(x).sum())


def table_report(data: dict[str, Any]) -> str:
    import numpy as np

    budget = data["plan"]["budget"]
    asha = data["plan"]["scheduler"] == "asha"
    parts = []
    for task, d in data["tasks"].items():
        k = 100.0 if "accuracy" in d["metric"] else 1.0
        unit = " (points)" if k == 100.0 else ""
        marks = sorted({max(1, budget // 4), max(1, budget // 2), budget})
        rows = []
        for sampler, res in d["samplers"].items():
            reach = list(zip(*[r["reach"] for r in res["repeats"]], strict=True))
            cells = [_quartiles(list(col), budget) for col in reach]
            if asha:  # what the trials to the top 1% cost, in full trainings
                spent = [r["epochs_to_reach"][0] for r in res["repeats"]]
                done = [e / d["epochs"] for e in spent if e is not None]
                cells.append((f"{np.median(done):.1f}" if done else "n/a", len(done)))
            med = res["regret_median"]
            at = [med[m - 1] if m - 1 < len(med) else None for m in marks]
            rows.append(
                [
                    sampler,
                    *(f"{c[0]} ({c[1]}/{len(res['repeats'])})" for c in cells),
                    *("n/a" if v is None else f"{k * v:.3g}" for v in at),
                    _kind_mix(res["repeats"]),
                    f"{res['seconds'] / len(res['repeats']):.2f}",
                ]
            )
        tops = ", ".join(
            f"top {100 * q:g}% = {n} functions" for q, n in zip(TOPS, d["top_sizes"], strict=True)
        )
        headers = [
            "sampler",
            *(f"trials to top {100 * q:g}%: median [q1, q3] (reached)" for q in TOPS),
            *(["trainings' epochs to top 1%: median of those reached"] if asha else []),
            *(f"regret after {m}{unit}" for m in marks),
            "trials by kind (share, all studies)",
            "s / study",
        ]
        rho = d["prescreen"]
        rhos = ", ".join(f"{key[4:]}: {v:.3f}" for key, v in rho.items() if key.startswith("rho_"))
        parts.append(
            f"{task}: {d['functions']} functions, {d['metric']} ({d['mode']}), {d['seeds']} "
            f"seeds; {tops}\n\n"
            + table(headers, rows)
            + f"\n\nPrescreen (Spearman rho with the true metric, GP fitted on n functions, "
            f"median of 5): {rhos or 'n/a'}; its filter removes {rho['screened']} functions "
            f"(their median rank as a share of the table, 1 = last: "
            f"{rho['screened_median_rank']})."
        )
    return "\n\n".join(parts)


def _kind_mix(repeats: list[dict[str, Any]]) -> str:
    """The share of each kind of function among every study's trials, largest first."""
    total: Counter[str] = Counter()
    for r in repeats:
        total.update(r.get("kinds", {}))
    n = sum(total.values())
    if not n:
        return "n/a"
    return ", ".join(f"{kind} {100 * c / n:.0f}%" for kind, c in total.most_common())


def table_plot(data: dict[str, Any], path: Path) -> None:
    """Regret over the trial number per task: median over the repeats, band = quartiles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = list(data["tasks"].items())
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.0 * len(tasks), 4.3), dpi=110)
    for ax, (task, d) in zip(np.atleast_1d(axes), tasks, strict=True):
        k = 100.0 if "accuracy" in d["metric"] else 1.0
        for sampler, res in d["samplers"].items():
            med = k * np.array(res["regret_median"], dtype=float)
            lo = k * np.array(res["regret_q1"], dtype=float)
            hi = k * np.array(res["regret_q3"], dtype=float)
            n = np.arange(1, len(med) + 1)
            (line,) = ax.plot(n, med, label=sampler, lw=1.8)
            ax.fill_between(n, lo, hi, color=line.get_color(), alpha=0.12)
        ax.set_yscale("symlog", linthresh=0.1 if k == 100.0 else 1e-3)
        ax.set_xlabel("trial (distinct table functions)")
        ax.set_ylabel(
            f"regret: best {d['metric']} less the study's" + (" (points)" if k == 100 else "")
        )
        ax.set_title(
            f"{task}: {d['functions']} functions, {d['seeds']} seed(s), "
            f"{len(next(iter(d['samplers'].values()))['repeats'])} repeats\n"
            f"median, band = quartiles; scheduler {data['plan']['scheduler']}",
            fontsize=9,
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def table_main(args: Any) -> None:
    """``--table``: every sampler replayed on every task of the table (see the docstring)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np

    from afsearch.exceptions import AfsearchError
    from afsearch.search import ReplayTable, read_table

    samplers = args.samplers or list(TABLE_SAMPLERS)
    if "cmaes" in samplers:
        sys.exit(
            "bench_samplers.py: CMA-ES samples a table's choices at random; leave it out of "
            "--samplers with --table."
        )
    for sampler in samplers:
        sampler_variant(sampler)  # a bad name or option ends the run before any work
    for name in ("budget", "repeats", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            sys.exit(f"bench_samplers.py: --{name} must be at least 1, got {value}.")
    plan = {**TABLE_PLAN, "scheduler": args.scheduler, "table": str(args.table)}
    plan.update({k: getattr(args, k) for k in ("budget", "repeats") if getattr(args, k)})
    try:
        frame, meta = read_table(args.table)
        tasks = [args.task] if args.task else sorted(frame["task"].unique())
        for task in tasks:
            _TABLES[task] = ReplayTable.from_frame(frame, meta, task)
    except AfsearchError as exc:
        sys.exit(f"bench_samplers.py: {exc}")
    clock = Stopwatch()
    data: dict[str, Any] = {"benchmark": "samplers_table", "plan": plan, "tasks": {}}
    data["table_runs"] = meta.get("runs", [])
    workers = args.workers or 2
    repeats = list(range(plan["repeats"]))
    chunks = [repeats[i::workers] for i in range(workers) if repeats[i::workers]]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for task, t in _TABLES.items():
            d = data["tasks"][task] = {
                "functions": len(t.configs),
                "metric": t.metric,
                "mode": t.mode,
                "seeds": t.values.shape[1],
                "top_sizes": [len(t.top(q)) for q in TOPS],
                "epochs": t.epochs,
                "samplers": {},
            }
            log(f"{task}: {len(t.configs)} functions; prescreen's rank correlation")
            d["prescreen"] = prescreen_rho(t)
            for sampler in samplers:
                sampler_clock = Stopwatch()
                jobs = [
                    pool.submit(replay_repeats, task, sampler, c, plan["budget"], args.scheduler)
                    for c in chunks
                ]
                res = sorted((r for j in jobs for r in j.result()), key=lambda r: r["repeat"])
                length = max(len(r["regret"]) for r in res)
                curves = np.array(
                    [r["regret"] + [r["regret"][-1]] * (length - len(r["regret"])) for r in res]
                )
                q1, med, q3 = np.nanpercentile(curves, [25, 50, 75], axis=0)
                d["samplers"][sampler] = {
                    "repeats": [{k: v for k, v in r.items() if k != "regret"} for r in res],
                    "regret_median": med.tolist(),
                    "regret_q1": q1.tolist(),
                    "regret_q3": q3.tolist(),
                    "seconds": sum(r["seconds"] for r in res),
                    "wall_s": sampler_clock.seconds,
                }
                log(f"  {sampler}: {len(res)} studies in {sampler_clock.seconds:.1f} s")
    data["seconds"] = clock.seconds
    args.plot = args.plot or DOCS / "samplers_table.png"
    table_plot(data, args.plot)
    path = save(data, "bench_samplers_table", args.json)
    print(table_report(data))
    print(f"\n{data['seconds']:.0f} s; written to {path} and {args.plot}")


def main() -> None:
    parser = arguments(
        __doc__,
        quick="digits-mlp, 3 epochs, 20 trials x 3 repeats (default)",
        full="mnist1d-mlp, 20 epochs, 100 trials x 10 repeats",
        json="output file (default benchmarks/results/)",
    )
    parser.add_argument("--budget", type=int, help="trials per study")
    parser.add_argument("--repeats", type=int, help="studies per sampler")
    add_launch_options(parser, max_concurrent=True)
    parser.add_argument("--plot", type=Path, help="default docs/samplers[_structural].png")
    parser.add_argument(
        "--samplers",
        nargs="+",
        help=f"of {', '.join(SAMPLERS)}; default tpe random cmaes (--table: "
        + " ".join(TABLE_SAMPLERS)
        + "; there also with options: evolution[floor=0.125])",
    )
    parser.add_argument("--space", choices=("taaf", "structural"), default="taaf")
    parser.add_argument(
        "--report",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="only print the tables and plot from results (several: one figure)",
    )
    parser.add_argument("--task", help="task of --space structural (default digits-mlp)")
    parser.add_argument("--epochs", type=int, help="epochs per trial")
    parser.add_argument("--batch-size", type=int, help="batch size of the task (fixed)")
    parser.add_argument(
        "--first-repeat",
        type=int,
        default=0,
        help="seed of the first repeat (run repeats in parallel processes, then --merge)",
    )
    parser.add_argument(
        "--merge", type=Path, nargs="+", metavar="JSON", help="join results of the same plan"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="drive each study's proposer without Ray, training in this process (the same "
        "sampler, proposer and prescreen; no Tune, no database)",
    )
    parser.add_argument("--table", type=Path, help="replay on this table (docs/TABLE.md)")
    parser.add_argument(
        "--scheduler", choices=("none", "asha"), default="none", help="with --table"
    )
    parser.add_argument("--workers", type=int, help="processes of --table (default 2)")
    args = parser.parse_args()
    if args.table:
        table_main(args)
        return
    args.samplers = args.samplers or ["tpe", "random", "cmaes"]
    unknown = [s for s in args.samplers if s not in SAMPLERS]
    if unknown:
        parser.error(f"--samplers {unknown[0]!r} is not one of {', '.join(SAMPLERS)}.")
    structural = args.space == "structural"
    name = "bench_samplers_structural" if structural else "bench_samplers"
    if args.task and args.task != "digits-mlp":
        name += f"_{args.task}"
    if args.plot is None:
        args.plot = DOCS / (f"{name.removeprefix('bench_')}.png")
    if structural and "cmaes" in args.samplers and not args.report:
        parser.error("CMA-ES samples choices at random; leave it out of --space structural.")
    if args.merge:
        parts = [json.loads(p.read_text()) for p in args.merge]
        data = parts[0]
        for part in parts[1:]:
            for sampler, d in part["samplers"].items():
                into = data["samplers"][sampler]
                for key in ("curves", "values", "skipped"):
                    into.setdefault(key, []).extend(d.get(key, []))
                into["wall_s"] += d["wall_s"]
            data["seconds"] = max(data["seconds"], part["seconds"])
        data["plan"]["repeats"] = len(data["samplers"]["random"]["curves"])
        mode_ = "max" if "accuracy" in data["metric"] else "min"
        randoms = data["samplers"]["random"]["curves"]
        for d in data["samplers"].values():
            d["trials_to_reach_random_best"] = [
                trials_to_reach(c, rc[-1], mode_) if rc and rc[-1] is not None else None
                for c, rc in zip(d["curves"], randoms, strict=True)
            ]
        path = save(data, name, args.json, False)
        print(report(data))
        print(f"\nmerged {len(parts)} results into {path}")
        return
    if args.report:
        results = [json.loads(p.read_text()) for p in args.report]
        plot(results, args.plot)
        for p, data in zip(args.report, results, strict=True):
            print(f"\n{p}:\n{report(data)}")
        return
    if "cmaes" in args.samplers and importlib.util.find_spec("cmaes") is None:
        parser.error(
            "Optuna's CMA-ES sampler needs the 'cmaes' package (an afsearch dependency): "
            "reinstall afsearch or `pip install cmaes`, or pass --samplers tpe random."
        )
    if "random" not in args.samplers:
        parser.error("random search is the reference; keep it in --samplers.")
    full = bool(args.full)
    plan = dict(FULL if full else QUICK)
    if args.budget:
        plan["budget"] = args.budget
    if args.repeats:
        plan["repeats"] = args.repeats
    if args.task:
        plan["task"] = args.task
    if args.epochs:
        plan["epochs"] = args.epochs
    if args.batch_size:
        plan["batch_size"] = args.batch_size
    clock = Stopwatch()
    data: dict[str, Any] = {
        **run_info(name, full),
        "plan": plan,
        "driver": "in-process" if args.in_process else "launch",
        "space": {
            "families": STRUCTURAL if structural else [FAMILY],
            "lr": None if structural else LR,
            "scheduler": "none",
            "seeds": 1,
            "evolution": EVOLUTION,
            "prescreen": PRESCREEN,
        },
        "samplers": {s: {"curves": [], "values": [], "wall_s": 0.0} for s in args.samplers},
    }
    mode_ = "max"
    if not args.address and not args.in_process:
        # One Ray for every study: its workers stay warm (imports, data) from study to study.
        init_ray(None, args.cpus, None)
    with workdir(args.workdir) as wd:
        first = args.first_repeat
        for r in range(first, first + plan["repeats"]):
            for sampler in args.samplers:
                space = make_space(sampler, plan, structural)
                mode_ = str(space.mode)
                data["metric"] = str(space.metric)
                study = f"{sampler.replace('+', '_')}-r{r}"
                # A database per study: a function another study trained would be replayed
                # for free, and the samplers would share their finds.
                url = f"sqlite:///{wd / (name + '-' + study + '.db')}"
                log(f"[repeat {r}] {sampler}: {plan['budget']} trials")
                study_clock = Stopwatch()
                d = data["samplers"][sampler]
                if args.in_process:
                    values, skipped = run_in_process(space, r, plan["budget"])
                    d.setdefault("skipped", []).append(skipped)
                else:
                    launch(
                        space,
                        study=study,
                        url=url,
                        runs_dir=wd / "runs",
                        seed=r,
                        **launch_kwargs(args),
                    )
                    rows = sorted(trials(study, url), key=lambda t: t.number)
                    values = [
                        t.metric_value if t.status.value in ("completed", "duplicate") else None
                        for t in rows
                    ]
                d["wall_s"] += study_clock.seconds
                # The budget's trials; a study whose space ran out keeps its last best.
                values = (values + [None] * plan["budget"])[: plan["budget"]]
                d["values"].append(values)
                d["curves"].append(best_so_far(values, mode_))
                log(f"  best {d['curves'][-1][-1]}")
    randoms = data["samplers"]["random"]["curves"]
    for d in data["samplers"].values():
        d["trials_to_reach_random_best"] = [
            trials_to_reach(c, rc[-1], mode_) if rc and rc[-1] is not None else None
            for c, rc in zip(d["curves"], randoms, strict=True)
        ]
    data["seconds"] = clock.seconds
    plot(data, args.plot)
    path = save(data, name, args.json, full)
    print(report(data))
    print(f"\n{data['seconds']:.0f} s; written to {path} and {args.plot}")


if __name__ == "__main__":
    main()
