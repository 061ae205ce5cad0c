"""``afsearch distill --plot``: each distilled site's learned curve, its formulas and the
density of the inputs it saw, one panel per site."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from afsearch.distill._trial import Distillation

#: Formulas drawn per panel, the most accurate first.
DRAWN = 3


def plot_distillation(distilled: Sequence[Distillation], path: str | Path) -> Path:
    """Write a PNG: per site, the learned activation (thick), its most accurate formulas
    (dashed, with their R²), and the weight of each input (shaded, on its own axis); returns
    the file written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from afsearch.results import save_figure

    fig, axes = plt.subplots(1, len(distilled), figsize=(6.2 * len(distilled), 4.6), squeeze=False)
    for ax, d in zip(axes[0], distilled):
        density = ax.twinx()
        density.fill_between(d.x, d.weights, color="tab:green", alpha=0.15, linewidth=0)
        density.set_ylim(0, 1.05 * float(np.max(d.weights)) * 3)
        density.set_yticks([])
        if d.seen:
            ax.axvspan(*d.seen, color="tab:green", alpha=0.06, label="inputs seen (0.1-99.9%)")
        ax.plot(d.x, d.y, color="black", linewidth=2.6, label="learned")
        for f in sorted(d.formulas, key=lambda f: -f.r2)[:DRAWN]:
            ax.plot(
                d.x,
                f.values(d.x),
                linestyle="--",
                linewidth=1.6,
                label=f"{f.text[:48]}  (R² {f.r2:.5f}, {f.nodes} nodes)",
            )
        ax.set_zorder(density.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_xlabel("x (shaded: how often the site saw it)")
        ax.set_title(f"{d.trial} site {d.site}: {d.family}, learned", fontsize=9)
        ax.legend(fontsize=7, loc="best")
        ax.axhline(0, color="grey", linewidth=0.5)
    fig.tight_layout()
    return save_figure(fig, path)
