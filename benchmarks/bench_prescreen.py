"""How well the prescreen's surrogate ranks candidates it has not trained, and what it costs.

    python benchmarks/bench_prescreen.py            # 60 candidates of the structural space,
                                                    # digits-mlp 3 epochs: ~2 min on 2 cores
    python benchmarks/bench_prescreen.py --trained 120 --pool 10000
    python benchmarks/bench_prescreen.py --trained 200 --signals   # + signals at initialisation
    python benchmarks/bench_prescreen.py --task mnist1d-mlp --trained 120 --signals

Draws a pool from the structural space of ``bench_samplers.py`` (operator trees beside
Swish-beta and ELU), trains ``--trained`` of its candidates once each (one seed, the task's
defaults but 3 epochs), and asks the prescreen's Gaussian process, fitted on all trained
candidates but one, to predict the one left out. Reported: Spearman's rank correlation between
the predictions and the trained metric (with its p-value), the same for a baseline that
predicts the mean of the k nearest neighbours in feature space, the share of the top 10% that
the top 10% of predictions find, and the time to build the pool and to score one candidate.
With ``--signals``, each trained candidate is also measured at initialisation by
:class:`~afsearch.search.InitProbe` (gradient norms per layer, Fisher and NTK spectra,
the loss after a handful of optimizer steps): reported per signal are the Spearman rho of its
one-number summary alone, the leave-one-out rho of the Gaussian process on the output features
plus the signal (what ``features: [outputs, init]`` does), and the milliseconds per candidate.
Writes ``benchmarks/results/bench_prescreen.json`` (``bench_prescreen_<task>.json`` for another
task than digits-mlp).
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import numpy as np
from _common import Stopwatch, arguments, log, run_info, save, set_threads, table
from bench_samplers import STRUCTURAL, train_here

from afsearch.search import SIGNALS, InitProbe, PrescreenPool, check_space, fit_predict
from afsearch.space import parse_space, task_settings
from afsearch.tasks import get_task


def leave_one_out(x: np.ndarray, y: np.ndarray, predict: Any) -> np.ndarray:
    out = np.empty_like(y)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        out[i] = predict(x[keep], y[keep], x[i : i + 1])[0]
    return out


def knn(x: np.ndarray, y: np.ndarray, c: np.ndarray, k: int = 5) -> np.ndarray:
    scale = x.std(axis=0) + 1e-9
    d = np.linalg.norm((x[None, :, :] - c[:, None, :]) / scale, axis=2)
    nearest = np.argsort(d, axis=1)[:, :k]
    return y[nearest].mean(axis=1)


#: One number per signal for "rho alone", oriented so that higher should mean a better metric.
SUMMARY = {
    "grad_norm": lambda v: float(v.mean()),
    "fisher": lambda v: float(v[0]),
    "ntk": lambda v: float(v[0]),
    "loss_after": lambda v: -float(v[1]),
}


def compare_signals(
    space: Any,
    pool: PrescreenPool,
    kept: list[int],
    x: np.ndarray,
    y: np.ndarray,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Each signal at initialisation: its rank correlation alone and added to the outputs."""
    from scipy.stats import spearmanr

    probe = InitProbe(space.task, task_settings(space, {}))
    out: dict[str, Any] = {}
    for signal in only or SIGNALS:
        clock = Stopwatch()
        got = [probe.measure(pool.configs[i], (signal,)) for i in kept]
        ms = 1000 * clock.seconds / max(1, len(kept))
        ok = [j for j, g in enumerate(got) if not isinstance(g, str)]
        vec = np.stack([got[j][signal] for j in ok])  # type: ignore[index]
        alone = [SUMMARY[signal](v) for v in vec]
        rho_alone = spearmanr(alone, y[ok])[0]
        both = np.hstack([x[ok], vec])
        gp = leave_one_out(both, y[ok], lambda a, b, c: fit_predict(a, b, c)[0])
        gp_outputs = leave_one_out(x[ok], y[ok], lambda a, b, c: fit_predict(a, b, c)[0])
        out[signal] = {
            "spearman_alone": float(rho_alone),
            "spearman_gp_with_outputs": float(spearmanr(gp, y[ok])[0]),
            "spearman_gp_outputs_same_set": float(spearmanr(gp_outputs, y[ok])[0]),
            "filtered": len(kept) - len(ok),
            "reasons": sorted({g for g in got if isinstance(g, str)}),
            "ms_per_candidate": ms,
        }
        log(f"  {signal}: {out[signal]}")
    if not only:
        clock = Stopwatch()
        for i in kept:
            probe.measure(pool.configs[i])
        out["all"] = {"ms_per_candidate": 1000 * clock.seconds / max(1, len(kept))}
    return out


def main() -> None:
    parser = arguments(__doc__, json="output file (default benchmarks/results/)")
    parser.add_argument("--trained", type=int, default=60, help="candidates to train")
    parser.add_argument("--pool", type=int, default=2000, help="pool to build and time")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", default="digits-mlp")
    parser.add_argument("--batch-size", type=int, help="batch size of the task")
    parser.add_argument("--signals", action="store_true", help="compare signals at init")
    parser.add_argument(
        "--only", nargs="+", choices=SIGNALS, help="with --signals: these signals only"
    )
    args = parser.parse_args()
    set_threads(2)
    from scipy.stats import spearmanr

    extra = {"batch_size": args.batch_size} if args.batch_size else {}
    space = parse_space(
        {
            "task": {"name": args.task, "epochs": args.epochs, **extra},
            "sampler": "random",
            "scheduler": "none",
            "families": [dict(f) for f in STRUCTURAL],
        },
        source="bench_prescreen",
    )
    check_space(space)
    clock = Stopwatch()
    pool = PrescreenPool.draw(space, args.pool, random.Random(args.seed))
    pool_s = clock.seconds
    log(f"pool: {len(pool.configs)} distinct of {pool.draws} draws in {pool_s:.1f} s")
    rng = random.Random(args.seed + 1)
    picks = rng.sample(range(len(pool.configs)), min(args.trained, len(pool.configs)))
    settings = get_task(args.task).make_settings(epochs=args.epochs, **extra)
    higher = get_task(args.task).mode == "max"
    values, kept = [], []
    train_clock = Stopwatch()
    tasks: dict[str, Any] = {}
    for n, i in enumerate(picks):
        # The task (its data) built once, as a Ray worker keeps it; the same training as rerun.
        spec = SimpleNamespace(
            activation=pool.configs[i],
            task=args.task,
            settings=settings,
            training_seeds=[args.seed],
        )
        metric = train_here(spec, tasks)
        if metric is not None and np.isfinite(metric):
            # Higher is better for every task here: a loss is negated.
            values.append(metric if higher else -metric)
            kept.append(i)
        log(f"  [{n + 1}/{len(picks)}] {metric}")
    x = np.stack([pool.vectors[i] for i in kept])
    y = np.array(values)
    signals = compare_signals(space, pool, kept, x, y, args.only) if args.signals else {}
    gp = leave_one_out(x, y, lambda a, b, c: fit_predict(a, b, c)[0])
    near = leave_one_out(x, y, knn)
    rho_gp, p_gp = spearmanr(gp, y)
    rho_knn, p_knn = spearmanr(near, y)
    top = max(1, len(y) // 10)
    best = set(np.argsort(-y)[:top])
    found = len(best & set(np.argsort(-gp)[:top])) / top
    data: dict[str, Any] = {
        **run_info("bench_prescreen", False),
        "pool": pool.summary(),
        "pool_seconds": pool_s,
        "score_ms_per_draw": 1000 * pool_s / max(1, pool.draws),
        "trained": len(y),
        "train_seconds": train_clock.seconds,
        "spearman_gp": [float(rho_gp), float(p_gp)],
        "spearman_knn": [float(rho_knn), float(p_knn)],
        "top10_found_by_gp": found,
        "task": args.task,
        "higher_is_better": "metric" if higher else "-metric",
        "metric": {"mean": float(y.mean()), "min": float(y.min()), "max": float(y.max())},
        "signals": signals,
    }
    name = "bench_prescreen" if args.task == "digits-mlp" else f"bench_prescreen_{args.task}"
    path = save(data, name, args.json)
    print(
        table(
            ["surrogate", "Spearman rho", "p", "top-10% found"],
            [
                ["GP (prescreen)", f"{rho_gp:.3f}", f"{p_gp:.2g}", f"{found:.0%}"],
                ["5-NN in feature space", f"{rho_knn:.3f}", f"{p_knn:.2g}", "-"],
            ],
        )
    )
    if signals:
        print()
        print(
            table(
                ["signal at init", "rho alone", "GP outputs+signal rho", "filtered", "ms/cand"],
                [
                    [
                        k,
                        f"{v['spearman_alone']:.3f}",
                        f"{v['spearman_gp_with_outputs']:.3f}",
                        str(v["filtered"]),
                        f"{v['ms_per_candidate']:.1f}",
                    ]
                    for k, v in signals.items()
                    if k != "all"
                ],
            )
        )
    print(
        f"\npool of {len(pool.configs)} from {pool.draws} draws in {pool_s:.1f} s "
        f"({data['score_ms_per_draw']:.2f} ms per candidate); filtered {pool.filtered}; "
        f"{len(y)} trained in {data['train_seconds']:.0f} s; written to {path}"
    )


if __name__ == "__main__":
    main()
