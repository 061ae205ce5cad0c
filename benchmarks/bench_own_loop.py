"""What it costs to bring your own training: mnist1d-cnn trained as a BaseTask (afsearch's
loop over in-memory tensors), as a training function ``train(trial)`` (a user's loop, run in
a thread and driven through ``trial.report``), and as a BaseTask that returns DataLoaders.

    python benchmarks/bench_own_loop.py                      # about 3 minutes on 2 cores
    python benchmarks/bench_own_loop.py --rounds 1 --epochs 3
    python benchmarks/bench_own_loop.py --json benchmarks/results/bench_own_loop.json

The three train the same network (the paper's 1-D CNN, ReLU) on the same data with the same
optimizer (Adam, lr 1e-2, batch 100). Each round fits each variant once, the variants taking
turns, so background load hits them alike; an epoch's time is the median of epochs 2 to E of
a fit (the first pays for warm-up), and the report gives each variant's median over rounds
and its ratio to the BaseTask's (targets: at most 1.05 for the function, 1.2 for the
DataLoader). torch runs on one thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from afsearch.tasks import MNIST1DCNN, TaskSettings, get_task

TASK = "mnist1d-cnn"
TARGETS = {"function": 1.05, "dataloader": 1.2}


def train(trial: Any) -> None:
    """mnist1d-cnn's network and data in a loop of the kind a user writes."""
    task = MNIST1DCNN(trial.settings)
    data = task.data(trial.seed)
    model = task.build_model(trial.make_activation).to(trial.device)
    optimizer = trial.make_optimizer(model)
    generator = torch.Generator().manual_seed(trial.seed)
    size = trial.settings.batch_size
    for _ in range(trial.start_epoch, trial.settings.epochs + 1):
        model.train()
        order = torch.randperm(data.x_train.shape[0], generator=generator)
        for start in range(0, order.shape[0], size):
            idx = order[start : start + size]
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            out = model(data.x_val)
            val_loss = nn.functional.cross_entropy(out, data.y_val)
            accuracy = (out.argmax(1) == data.y_val).float().mean()
        trial.report(val_accuracy=accuracy, val_loss=val_loss, train_loss=loss)


def _epoch_seconds(task: Any, seed: int) -> tuple[float, float]:
    """The median epoch time over epochs 2..E of one fit, and its last validation accuracy."""
    results = list(task.fit(nn.ReLU, seed=seed))
    times = [r.metrics["epoch_seconds"] for r in results[1:]]
    return statistics.median(times), results[-1].metrics["val_accuracy"]


def _variants(epochs: int) -> dict[str, Any]:
    settings = MNIST1DCNN.make_settings(epochs=epochs)
    function_settings = TaskSettings(
        epochs=epochs, batch_size=settings.batch_size, lr=settings.lr, optimizer=settings.optimizer,
        options=dict(settings.options),
    )  # fmt: skip
    variants = {
        "basetask": get_task(TASK, settings),
        "function": get_task("bench_own_loop:train", function_settings),
    }
    loader_task = _dataloader_task(settings)
    if loader_task is not None:
        variants["dataloader"] = loader_task
    return variants


def _dataloader_task(settings: TaskSettings) -> Any:
    """mnist1d-cnn as a BaseTask that returns datasets, streamed by afsearch's loop."""
    try:
        from afsearch.tasks import TaskDatasets
    except ImportError:
        return None
    from torch.utils.data import TensorDataset

    class LoaderCNN(MNIST1DCNN):
        def build_data(self, seed: int) -> Any:
            d = super().build_data(seed)
            return TaskDatasets(
                TensorDataset(d.x_train, d.y_train),
                TensorDataset(d.x_val, d.y_val),
                TensorDataset(d.x_test, d.y_test),
            )

    return LoaderCNN(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # for "bench_own_loop:train"
    variants = _variants(args.epochs)
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    accuracy: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(args.rounds):
        for name, task in variants.items():
            s, acc = _epoch_seconds(task, seed=round_)
            seconds[name].append(s)
            accuracy[name].append(acc)
        print(f"round {round_ + 1}/{args.rounds}: "
              + ", ".join(f"{n} {v[-1] * 1000:.0f} ms" for n, v in seconds.items()),
              file=sys.stderr, flush=True)  # fmt: skip
    base = statistics.median(seconds["basetask"])
    rows = []
    for name in variants:
        median = statistics.median(seconds[name])
        ratios = [s / b for s, b in zip(seconds[name], seconds["basetask"])]
        rows.append(
            {
                "variant": name,
                "epoch_ms": round(median * 1000, 1),
                "ratio": round(median / base, 3),
                "ratio_per_round": [round(r, 3) for r in ratios],
                "target": TARGETS.get(name),
                "val_accuracy": round(statistics.mean(accuracy[name]), 4),
            }
        )
    print(f"{TASK}, {args.epochs} epochs, {args.rounds} rounds, one torch thread")
    print(f"{'variant':<12} {'epoch ms':>9} {'ratio':>7} {'target':>7} {'val acc':>8}")
    for r in rows:
        target = "" if r["target"] is None else f"{r['target']:.2f}"
        print(f"{r['variant']:<12} {r['epoch_ms']:>9.1f} {r['ratio']:>7.3f} {target:>7} "
              f"{r['val_accuracy']:>8.4f}")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"task": TASK, "epochs": args.epochs, "rounds": args.rounds, "rows": rows}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
