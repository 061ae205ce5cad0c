"""Plots for ``afsearch show --plot``: the activation, its derivative, the learning curve."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from afsearch.exceptions import AfsearchError


def plot_trial(trial: Any, epochs: Sequence[Any], path: str | Path) -> Path:
    """Write a PNG with three panels for a stored trial; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from afsearch.compiler import CompiledActivation
    from afsearch.results._trial import trial_candidate

    candidate = trial_candidate(trial)
    module = CompiledActivation(candidate, dtype=torch.float64)
    x = torch.linspace(-4, 4, 401, dtype=torch.float64, requires_grad=True)
    curves: dict[str, Any] = {
        "this trial": module,
        "ReLU": torch.relu,
        "GELU": torch.nn.functional.gelu,
    }
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for label, fn in curves.items():
        xi = x.detach().clone().requires_grad_(True)
        y = fn(xi)
        (dy,) = torch.autograd.grad(y.sum(), xi)
        style = {"linewidth": 2.2} if label == "this trial" else {"linestyle": "--", "alpha": 0.7}
        axes[0].plot(xi.detach(), y.detach(), label=label, **style)
        axes[1].plot(xi.detach(), dy.detach(), label=label, **style)
    axes[0].set_title("activation f(x)")
    axes[1].set_title("derivative f'(x)")
    for ax in axes[:2]:
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        ax.legend()
        ax.set_xlabel("x")
    if epochs:
        es = [e.epoch for e in epochs]
        metric = next((k for k in ("val_accuracy", "val_loss") if k in epochs[0].metrics), None)
        ax = axes[2]
        if metric:
            ax.plot(es, [e.metrics.get(metric) for e in epochs], marker="o", label=metric)
        ax.plot(es, [e.metrics.get("train_loss") for e in epochs], marker="s", label="train_loss")
        ax.set_xlabel("epoch")
        ax.legend()
    axes[2].set_title("learning curve")
    expr = trial.config.get("expression", "") if trial.config else ""
    fig.suptitle(f"{trial.study}/{trial.number}: {expr[:90]}", fontsize=10)
    fig.tight_layout()
    out = Path(path)
    if not out.suffix:  # matplotlib would add one; say the name of the file written
        out = out.with_suffix(".png")
    try:
        fig.savefig(out, dpi=110)
    except OSError as exc:
        raise AfsearchError(f"Could not write the plot to {str(out)!r}: {exc.strerror}.") from None
    finally:
        plt.close(fig)
    return out
