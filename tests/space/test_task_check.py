"""What a space asks of its task is checked when it is read: the metric it names, a training
function's metric and mode, and families the task would refuse on every trial."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from afsearch.exceptions import AfsearchError
from afsearch.space import parse_space


def space(**overrides: object) -> dict:
    return {"task": {"name": "mnist1d-mlp"}, "families": [{"family": "swish"}], **overrides}


@pytest.mark.parametrize(
    ("metric", "hint"),
    [("val_acc", "did you mean 'val_accuracy'?"), ("val_rel_l2", "it reports 'train_loss'")],
)
def test_a_metric_the_task_does_not_report_is_one_sentence(metric: str, hint: str) -> None:
    with pytest.raises(AfsearchError, match="reports no metric") as caught:
        parse_space(space(metric=metric))
    assert hint in str(caught.value) and "metric" in str(caught.value)


def test_the_metrics_a_task_reports_and_what_every_trial_reports_are_accepted() -> None:
    assert parse_space(space(metric="val_loss", mode="min")).metric == "val_loss"
    pinn = {"task": {"name": "pinn-poisson"}, "families": [{"family": "standard", "name": "tanh"}]}
    assert parse_space({**pinn, "metric": "val_loss"}).metric == "val_loss"
    assert parse_space(pinn).metric == "val_rel_l2"
    multi = space(sampler="nsga2", objectives=[["val_accuracy", "max"], ["activation_cost", "min"]])
    assert parse_space(multi).objectives[1] == ("activation_cost", "min")
    with pytest.raises(AfsearchError, match=r"objectives\[1\].metric.*activation_cots"):
        parse_space(
            space(sampler="nsga2", objectives=[["val_accuracy", "max"], ["activation_cots", "min"]])
        )


def test_a_pinn_space_whose_family_the_task_always_refuses_is_one_sentence() -> None:
    data = {"task": {"name": "pinn-poisson"}, "families": [{"family": "standard", "name": "relu"}]}
    with pytest.raises(AfsearchError, match=r"families\[0\].*every trial of it would fail"):
        parse_space(data)
    # A family with some smooth candidates passes: its relu trials are refused one by one.
    data["families"] = [{"family": "standard", "name": ["relu", "tanh"]}]
    parse_space(data)


def test_a_training_function_needs_the_space_to_name_its_metric_and_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "spacefn.py").write_text("def train(trial):\n    trial.report(score=1.0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "spacefn", raising=False)
    data = {"task": {"name": "spacefn:train"}, "families": [{"family": "swish"}]}
    with pytest.raises(AfsearchError, match=r"metric.*training function.*'mode: max'"):
        parse_space(data)
    with pytest.raises(AfsearchError, match=r"mode.*training function"):
        parse_space({**data, "metric": "score"})
    parsed = parse_space(
        {
            **data,
            "metric": "score",
            "mode": "max",
            "task": {"name": "spacefn:train", "options": {"anything": 3}},
        }
    )
    assert (parsed.metric, parsed.mode) == ("score", "max")


def test_per_site_counts_a_training_functions_sites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (
        "import torch\nfrom torch import nn\n\n"
        "def train(trial):\n"
        "    depth = trial.options['depth']\n"
        "    layers = []\n"
        "    for _ in range(depth):\n"
        "        layers += [nn.Linear(4, 4), trial.make_activation(channels=4)]\n"
        "    model = nn.Sequential(*layers)\n"
        "    model(torch.ones(2, 4))\n"
        "    trial.report(score=1.0)\n"
    )
    (tmp_path / "sitesfn.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sitesfn", raising=False)
    data = {
        "task": {"name": "sitesfn:train", "options": {"depth": 3}},
        "metric": "score",
        "mode": "max",
        "per_site": True,
        "families": [{"family": "swish"}],
    }
    assert parse_space(data).sites == 3


REQUIRED = """
import torch
from torch import nn

from afsearch.tasks import BaseTask, TaskData, TaskSettings


class NeedsFolder(BaseTask):
    name = "needs-folder"
    description = "a task whose defaults lack a required option"
    metric, mode = "val_accuracy", "max"
    default_settings = TaskSettings(epochs=1, options={"data_dir": None})

    def check_options(self):
        if self.options["data_dir"] is None:
            raise self.option_error("data_dir", "a folder")

    def build_data(self, seed): ...

    def build_model(self, make_activation):
        return nn.Sequential(nn.Linear(2, 2), make_activation())
"""


def test_a_task_is_checked_with_the_spaces_options_not_its_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needsfolder.py").write_text(REQUIRED)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "needsfolder", raising=False)
    data = {"task": {"name": "needsfolder:NeedsFolder"}, "families": [{"family": "swish"}]}
    with pytest.raises(AfsearchError, match=r"task: Option 'data_dir'.*must be a folder"):
        parse_space(data)
    data["task"]["options"] = {"data_dir": str(tmp_path)}
    assert parse_space(data).metric == "val_accuracy"


@pytest.mark.parametrize(
    ("task", "fragment"),
    [
        (
            {"name": "digits-mlp", "lr": {"low": "1e-4", "high": 1.0e-2}},
            "task.lr.low: must be a number, got '1e-4' (YAML reads 1e-4 as a string; write 1.0e-4).",
        ),
        (
            {"name": "digits-mlp", "lr": "3e-4"},
            "got '3e-4' (YAML reads 3e-4 as a string; write 3.0e-4).",
        ),
        ({"name": "digits-mlp", "weight_decay": "5E-5"}, "write 5.0E-5"),
    ],
)
def test_a_number_yaml_reads_as_a_string_gets_the_spelling_it_needs(
    task: dict, fragment: str
) -> None:
    with pytest.raises(AfsearchError) as caught:
        parse_space({"task": task, "families": [{"family": "swish"}]})
    assert fragment in str(caught.value)


def test_yaml_reads_1e_minus_4_as_a_string(tmp_path: Path) -> None:
    import yaml

    assert yaml.safe_load("lr: 1e-4") == {"lr": "1e-4"}  # why the hint exists
