"""plot_trial: the activation, its derivative and the learning curves of a stored trial."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
import torch

from afsearch.exceptions import AfsearchError
from afsearch.results import plot_trial
from afsearch.store import TrialRecord, epochs, trial
from tests.helpers import store_trial

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture
def stored(tmp_path: Path) -> tuple[str, TrialRecord]:
    url = store_trial(tmp_path / "p.db")
    return url, trial("s/0", url)


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures plot_trial closes, kept for inspection."""
    closed: list[Any] = []
    close = plt.close

    def keep(fig: Any = None) -> None:
        closed.append(fig)
        close(fig)

    monkeypatch.setattr(plt, "close", keep)
    return closed


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def labels(ax: Any) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_plot_trial_writes_a_png_with_four_panels(
    stored: tuple[str, TrialRecord], tmp_path: Path, figures: list[Any]
) -> None:
    url, t = stored
    path = tmp_path / "trial.png"
    assert plot_trial(t, epochs(t.id, url), path) == path
    assert png_size(path) == (18 * 110, 484)
    (fig,) = figures
    assert plt.get_fignums() == []  # closed, even though pyplot made it
    activation, derivative, curve, losses = fig.axes
    assert len(fig.axes) == 4
    assert activation.get_title() == "activation f(x)"
    assert derivative.get_title() == "derivative f'(x)"
    # The metric and the losses on axes of their own.
    assert curve.get_title() == "val_accuracy per epoch"
    assert losses.get_title() == "loss per epoch"
    # The readable activation with its values, the learned one included.
    assert fig._suptitle.get_text() == (
        "s #0  swish(beta=1.5, trainable=True)  learned beta=1.7\nf(x) = x*sigmoid(1.7*x)"
    )
    assert labels(activation) == labels(derivative) == ["this trial", "ReLU", "GELU"]
    assert labels(curve) == ["val_accuracy"]
    assert labels(losses) == ["train_loss"]
    # The trial's curve is the activation with its learned beta (1.7), and its derivative.
    line = next(ln for ln in activation.get_lines() if ln.get_label() == "this trial")
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    assert x[0] == -4.0 and x[-1] == 4.0 and len(x) == 401
    np.testing.assert_allclose(y, x / (1 + np.exp(-1.7 * x)), rtol=1e-12)
    dline = next(ln for ln in derivative.get_lines() if ln.get_label() == "this trial")
    s = 1 / (1 + np.exp(-1.7 * x))
    np.testing.assert_allclose(dline.get_ydata(), s + 1.7 * x * s * (1 - s), rtol=1e-10)
    relu = next(ln for ln in activation.get_lines() if ln.get_label() == "ReLU")
    np.testing.assert_allclose(relu.get_ydata(), np.maximum(x, 0))
    acc = next(ln for ln in curve.get_lines() if ln.get_label() == "val_accuracy")
    assert list(acc.get_xdata()) == [1] and list(acc.get_ydata()) == [0.8]


def test_plot_trial_without_epochs_leaves_the_curve_empty(
    stored: tuple[str, TrialRecord], tmp_path: Path, figures: list[Any]
) -> None:
    _, t = stored
    plot_trial(t, [], tmp_path / "p.png")
    (fig,) = figures
    assert len(fig.axes) == 4 and fig.axes[2].get_lines() == fig.axes[3].get_lines() == []
    assert fig.axes[2].get_title() == "val_accuracy per epoch"


@pytest.mark.parametrize("where", ["missing/p.png", "a-folder.png"])
def test_an_unwritable_path_gives_one_sentence_and_closes_the_figure(
    stored: tuple[str, TrialRecord], tmp_path: Path, where: str
) -> None:
    url, t = stored
    (tmp_path / "a-folder.png").mkdir()
    path = tmp_path / where  # in a folder that does not exist; a folder itself
    with pytest.raises(AfsearchError) as info:
        plot_trial(t, epochs(t.id, url), path)
    message = str(info.value)
    assert message.startswith(f"Could not write the plot to {str(path)!r}: ")
    assert message.endswith(".") and "\n" not in message
    assert plt.get_fignums() == []


def test_a_trial_without_an_activation_is_refused_before_plotting(
    stored: tuple[str, TrialRecord], tmp_path: Path
) -> None:
    _, t = stored
    with pytest.raises(AfsearchError, match="has no activation recorded"):
        plot_trial(dataclasses.replace(t, activation=None), [], tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists() and plt.get_fignums() == []


def test_plot_trial_leaves_torch_default_dtype_alone(
    stored: tuple[str, TrialRecord], tmp_path: Path
) -> None:
    _, t = stored
    plot_trial(t, [], tmp_path / "p.png")
    assert torch.get_default_dtype() == torch.float32


def test_the_returned_path_is_the_file_written(
    stored: tuple[str, TrialRecord], tmp_path: Path
) -> None:
    _, t = stored
    written = plot_trial(t, [], tmp_path / "plot")
    assert written.is_file()


def test_a_per_site_trial_plots_each_site_under_one_title(tmp_path: Path, figures: list[Any]):
    from afsearch.activations import per_site_config
    from afsearch.store import TrialStore
    from tests.helpers import add_finished_trial, create_digits_study

    url = f"sqlite:///{tmp_path / 'sites.db'}"
    sites = [
        {"family": "swish", "beta": 1.5, "trainable": True},
        {"family": "standard", "name": "tanh"},
    ]
    with TrialStore(url) as store:
        create_digits_study(store, "s")
        add_finished_trial(
            store,
            "s",
            per_site_config(sites),
            value=0.8,
            learned_params={"mean": {"site0.beta": 1.7}},
        )
    t = trial("s/0", url)
    plot_trial(t, epochs(t.id, url), tmp_path / "sites.png")
    (fig,) = figures
    assert labels(fig.axes[0]) == ["site 0", "site 1", "ReLU", "GELU"]
    assert fig._suptitle.get_text().endswith("\nf(x) = x*sigmoid(1.7*x); tanh(x)")


def test_the_inputs_a_trial_saw_are_shaded_and_widen_the_axis(
    stored: tuple[str, TrialRecord], tmp_path: Path, figures: list[Any]
) -> None:
    from afsearch.trial.inputs import INPUT_LEVELS, INPUT_QUANTILES, LEVELS

    _, t = stored
    # Two sites: the shading covers both, from the lowest 0.1% to the highest 99.9% quantile.
    quantiles = [
        [-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0],
        [-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0],
    ]
    learned = {**t.learned_params, INPUT_LEVELS: list(LEVELS), INPUT_QUANTILES: quantiles}
    plot_trial(dataclasses.replace(t, learned_params=learned), [], tmp_path / "p.png")
    (fig,) = figures
    activation = fig.axes[0]
    assert labels(activation)[-2:] == ["inputs seen (0.1-99.9%)", "inputs seen (5-95%)"]
    spans = [p.get_x() for p in activation.patches], [p.get_width() for p in activation.patches]
    assert spans == ([-2.0, -1.0], [8.0, 4.0])
    line = next(ln for ln in activation.get_lines() if ln.get_label() == "this trial")
    assert line.get_xdata()[0] == -4.0 and line.get_xdata()[-1] == 6.0


def test_a_trial_without_input_ranges_has_no_shading(
    stored: tuple[str, TrialRecord], tmp_path: Path, figures: list[Any]
) -> None:
    _, t = stored
    plot_trial(t, [], tmp_path / "p.png")
    (fig,) = figures
    assert list(fig.axes[0].patches) == []
    assert not any("inputs seen" in label for label in labels(fig.axes[0]))
