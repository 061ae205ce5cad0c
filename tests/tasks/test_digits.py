"""digits-mlp actually learns."""

from __future__ import annotations

from torch import nn

from afsearch.tasks import DigitsMLP, get_task


def test_relu_reaches_90_percent_in_ten_epochs() -> None:
    task = get_task("digits-mlp")
    assert task.settings.epochs == 10
    results = list(task.fit(nn.ReLU, seed=0))
    assert results[-1].metrics["val_accuracy"] > 0.9


def test_the_split_is_stratified_and_standardised() -> None:
    data = DigitsMLP().data(0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (1078, 359, 360)
    assert set(data.y_val.tolist()) == set(range(10))
    assert abs(float(data.x_train.mean())) < 1e-5
