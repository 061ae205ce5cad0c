"""Plots for ``afsearch show --plot``: the activation, its derivative, the learning curves.

Four panels: the activation and its derivative beside ReLU and GELU (shaded over the inputs the
trial's sites saw, where it recorded them), the study's metric per epoch, and the losses per
epoch (on an axis of their own: a loss near 2 and an accuracy near 0.9 share no scale). The
title names the trial as the leaderboard does, with its values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from afsearch.exceptions import AfsearchError


def plot_trial(trial: Any, epochs: Sequence[Any], path: str | Path) -> Path:
    """Write a PNG with four panels for a stored trial; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from afsearch.compiler import CompiledActivation
    from afsearch.results._trial import trial_candidate

    candidate = trial_candidate(trial)
    seen = seen_inputs(trial)
    low, high = (min(-4.0, seen[0][0]), max(4.0, seen[0][1])) if seen else (-4.0, 4.0)
    x = torch.linspace(low, high, 401, dtype=torch.float64, requires_grad=True)
    # A per-site trial draws each site's activation.
    sites = getattr(candidate, "sites", None) or (candidate,)
    curves: dict[str, Any] = {
        "this trial" if len(sites) == 1 else f"site {k}": CompiledActivation(c, torch.float64)
        for k, c in enumerate(sites)
    }
    curves.update({"ReLU": torch.relu, "GELU": torch.nn.functional.gelu})
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.4))
    for name, fn in curves.items():
        xi = x.detach().clone().requires_grad_(True)
        y = fn(xi)
        (dy,) = torch.autograd.grad(y.sum(), xi)
        ours = name not in ("ReLU", "GELU")
        style = {"linewidth": 2.2} if ours else {"linestyle": "--", "alpha": 0.7}
        axes[0].plot(xi.detach(), y.detach(), label=name, **style)
        axes[1].plot(xi.detach(), dy.detach(), label=name, **style)
    axes[0].set_title("activation f(x)")
    axes[1].set_title("derivative f'(x)")
    for ax in axes[:2]:
        shade_seen(ax, seen)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        ax.legend()
        ax.set_xlabel("x")
    metric, losses = _curves(trial, epochs)
    es = [e.epoch for e in epochs]
    if metric and es:
        axes[2].plot(es, [e.metrics.get(metric) for e in epochs], marker="o", label=metric)
        axes[2].legend()
    for key in losses:
        axes[3].plot(es, [e.metrics.get(key) for e in epochs], marker="s", label=key)
    if losses:
        axes[3].legend()
    axes[2].set_title(f"{metric or 'metric'} per epoch")
    axes[3].set_title("loss per epoch")
    for ax in axes[2:]:
        ax.set_xlabel("epoch")
        if es:
            ax.set_xticks(sorted(set(es)))
    fig.suptitle(title(trial, candidate), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def seen_inputs(trial: Any) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The inputs the trial's activation sites saw in its last epoch, over every site: the
    0.1-99.9% range and the 5-95% range (``None`` when the trial recorded none)."""
    from afsearch.trial.inputs import input_quantiles

    stored = input_quantiles(trial.learned_params)
    sites = [q for q in stored[1] if q] if stored else []
    if not stored or not sites:
        return None
    levels = stored[0]

    def at(level: float, pick: Any) -> float:
        k = min(range(len(levels)), key=lambda i: abs(levels[i] - level))
        return float(pick(q[k] for q in sites))

    return (at(0.0, min), at(1.0, max)), (at(0.05, min), at(0.95, max))


def shade_seen(ax: Any, seen: tuple[tuple[float, float], tuple[float, float]] | None) -> None:
    """Shade the inputs seen on ``ax``: light over 0.1-99.9%, darker over 5-95%."""
    if seen is None:
        return
    (low, high), (q05, q95) = seen
    ax.axvspan(low, high, color="tab:green", alpha=0.08, label="inputs seen (0.1-99.9%)")
    ax.axvspan(q05, q95, color="tab:green", alpha=0.12, label="inputs seen (5-95%)")


def _curves(trial: Any, epochs: Sequence[Any]) -> tuple[str | None, list[str]]:
    """The metric of the study (as the trial recorded it) and the losses, as reported."""
    keys: dict[str, None] = {}
    for e in epochs:
        keys.update(dict.fromkeys(e.metrics))
    wanted = (trial.config or {}).get("metric")
    metric = next((k for k in (wanted, "val_accuracy", "val_loss") if k in keys), wanted)
    losses = [k for k in keys if k.endswith("_loss") and k != metric]
    return metric, losses


def title(trial: Any, candidate: Any) -> str:
    """``study #N  elu(alpha=1.33)`` over the function with its values (learned ones included):
    ``f(x) = Piecewise((x, x > 0), (1.327*(exp(x) - 1), True))``; a per-site trial's functions
    in site order, separated by ``;``."""
    import sympy

    from afsearch.activations import label
    from afsearch.expr import symbol, to_text

    config = trial.config or {}
    head = f"{trial.study} #{trial.number}  {label(config.get('activation') or {}, None, 80)}"
    learned = (trial.learned_params or {}).get("mean") or {}
    if learned:
        head += "  learned " + ", ".join(f"{k}={v:.4g}" for k, v in learned.items())
    texts = []
    for site in getattr(candidate, "sites", None) or (candidate,):
        values = {symbol(n): sympy.Float(float(f"{p.value:.4g}")) for n, p in site.params.items()}
        texts.append(to_text(site.expr.xreplace(values)))
    return f"{head}\nf(x) = {'; '.join(texts)[:140]}"


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (``.png`` when it has no suffix) and close it; returns the file
    written. A path that cannot be written is one sentence."""
    import matplotlib.pyplot as plt

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
