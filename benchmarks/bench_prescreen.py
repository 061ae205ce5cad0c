"""How well the prescreen's surrogate ranks candidates it has not trained, and what it costs.

    python benchmarks/bench_prescreen.py            # 60 candidates of the structural space,
                                                    # digits-mlp 3 epochs: ~2 min on 2 cores
    python benchmarks/bench_prescreen.py --trained 120 --pool 10000

Draws a pool from the structural space of ``bench_samplers.py`` (operator trees beside
Swish-beta and ELU), trains ``--trained`` of its candidates once each (one seed, the task's
defaults but 3 epochs), and asks the prescreen's Gaussian process, fitted on all trained
candidates but one, to predict the one left out. Reported: Spearman's rank correlation between
the predictions and the trained metric (with its p-value), the same for a baseline that
predicts the mean of the k nearest neighbours in feature space, the share of the top 10% that
the top 10% of predictions find, and the time to build the pool and to score one candidate.
Writes ``benchmarks/results/bench_prescreen.json``.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from _common import Stopwatch, arguments, log, run_info, save, set_threads, table
from bench_samplers import STRUCTURAL

from afsearch.orchestrator import PrescreenPool, fit_predict
from afsearch.results import rerun
from afsearch.space import parse_space
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


def main() -> None:
    parser = arguments(__doc__, json="output file (default benchmarks/results/)")
    parser.add_argument("--trained", type=int, default=60, help="candidates to train")
    parser.add_argument("--pool", type=int, default=2000, help="pool to build and time")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    set_threads(2)
    from scipy.stats import spearmanr

    space = parse_space(
        {
            "task": {"name": "digits-mlp", "epochs": args.epochs},
            "sampler": "random",
            "scheduler": "none",
            "families": [dict(f) for f in STRUCTURAL],
        },
        source="bench_prescreen",
    )
    clock = Stopwatch()
    pool = PrescreenPool.draw(space, args.pool, random.Random(args.seed))
    pool_s = clock.seconds
    log(f"pool: {len(pool.configs)} distinct of {pool.draws} draws in {pool_s:.1f} s")
    rng = random.Random(args.seed + 1)
    picks = rng.sample(range(len(pool.configs)), min(args.trained, len(pool.configs)))
    settings = get_task("digits-mlp").make_settings(epochs=args.epochs)
    values, kept = [], []
    train_clock = Stopwatch()
    for n, i in enumerate(picks):
        (run,) = rerun(pool.configs[i], "digits-mlp", seeds=[args.seed], settings=settings)
        if run.metric is not None:
            values.append(run.metric)
            kept.append(i)
        log(f"  [{n + 1}/{len(picks)}] {run.metric}")
    x = np.stack([pool.vectors[i] for i in kept])
    y = np.array(values)
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
        "metric": {"mean": float(y.mean()), "min": float(y.min()), "max": float(y.max())},
    }
    path = save(data, "bench_prescreen", args.json)
    print(
        table(
            ["surrogate", "Spearman rho", "p", "top-10% found"],
            [
                ["GP (prescreen)", f"{rho_gp:.3f}", f"{p_gp:.2g}", f"{found:.0%}"],
                ["5-NN in feature space", f"{rho_knn:.3f}", f"{p_knn:.2g}", "-"],
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
