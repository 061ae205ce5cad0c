"""teacher-student rewards the teacher's activation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from afsearch.exceptions import AfsearchError
from afsearch.tasks import TEACHER_ACTIVATIONS, TeacherStudent


class Sin(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


def final_val_mse(teacher: str, make_activation: type[nn.Module]) -> float:
    settings = TeacherStudent.make_settings(
        epochs=20, options={"teacher_activation": teacher, "n_train": 1000, "n_val": 256}
    )
    results = list(TeacherStudent(settings).fit(make_activation, seed=0))
    return results[-1].metrics["val_loss"]


def test_the_teachers_activation_beats_a_linear_student() -> None:
    assert final_val_mse("silu", nn.SiLU) < 0.5 * final_val_mse("silu", nn.Identity)


def test_the_teachers_activation_beats_a_wrong_one() -> None:
    assert final_val_mse("sin", Sin) < 0.85 * final_val_mse("sin", nn.ReLU)


def test_targets_are_standardised_and_depend_on_the_teacher() -> None:
    data = TeacherStudent().data(0)
    assert data.y_train.shape == (2000, 1)
    assert data.x_val.shape == (500, 8)
    assert abs(float(data.y_train.mean())) < 1e-5
    assert abs(float(data.y_train.std()) - 1.0) < 1e-5
    tanh = TeacherStudent(TeacherStudent.make_settings(options={"teacher_activation": "tanh"}))
    assert torch.equal(data.x_train, tanh.data(0).x_train)
    assert not torch.equal(data.y_train, tanh.data(0).y_train)


def test_an_unknown_teacher_activation_lists_the_known_ones() -> None:
    with pytest.raises(AfsearchError) as info:
        TeacherStudent(TeacherStudent.make_settings(options={"teacher_activation": "swish"}))
    assert "'swish'" in str(info.value)
    for name in TEACHER_ACTIVATIONS:
        assert repr(name) in str(info.value)


def teacher_targets(teacher: object) -> torch.Tensor:
    settings = TeacherStudent.make_settings(options={"teacher_activation": teacher})
    return TeacherStudent(settings).data(0).y_train


def test_a_teacher_given_as_an_activation_config_is_that_function() -> None:
    # The name and the config of one function give the same targets ...
    assert torch.allclose(
        teacher_targets("tanh"),
        teacher_targets({"family": "expression", "expression": "tanh(x)"}),
        atol=1e-5,
    )
    # ... and a parametric family's value or an operator tree changes them.
    swish = teacher_targets({"family": "swish", "beta": 1.0})
    assert torch.allclose(swish, teacher_targets("silu"), atol=1e-5)
    assert not torch.allclose(swish, teacher_targets({"family": "swish", "beta": 3.0}), atol=1e-2)
    tree = {"family": "grammar", "unit": {"binary": "add", "left": "tanh", "right": "sin"}}
    assert not torch.allclose(teacher_targets(tree), teacher_targets("tanh"), atol=1e-2)


@pytest.mark.parametrize(
    ("teacher", "words"),
    [
        ({"family": "swsh"}, ["'teacher_activation'", "not an activation", "'swsh'"]),
        ({"family": "grammar", "depth": 1}, ["not an activation", "no setting 'depth'"]),
        (3, ["'teacher_activation'", "activation config", "got 3"]),
    ],
)
def test_a_teacher_config_that_is_no_activation_is_refused(
    teacher: object, words: list[str]
) -> None:
    with pytest.raises(AfsearchError) as info:
        TeacherStudent(TeacherStudent.make_settings(options={"teacher_activation": teacher}))
    for word in words:
        assert word in str(info.value)
