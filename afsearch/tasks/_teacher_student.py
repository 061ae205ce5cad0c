"""``teacher-student``: regress a random teacher MLP whose activation is known.

A search on this task should find (a function close to) the teacher's activation, which makes
it the sanity check of a search space and a searcher. Close is all it can be: GELU(x) is nearly
SiLU(1.702 x) / 1.702, so a GELU student fits a SiLU teacher as well as a SiLU student does.

Measured with the defaults, seed 0, the seven teacher activations as students: the teacher's
own activation has the lowest validation MSE for the ``relu``, ``tanh`` and ``sin`` teachers
(``sin``: 0.07 against 0.26 for the next); for the smooth, monotone ``silu``, ``elu`` and
``softplus`` teachers the students end within noise of each other (MSE 0.002 to 0.02, ``gelu``
or ``relu`` first), so those teachers test a search less sharply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from afsearch.exceptions import AfsearchError, choices
from afsearch.tasks._base import BaseTask, TaskData
from afsearch.tasks._registry import register_task
from afsearch.tasks._settings import TaskSettings

if TYPE_CHECKING:
    from torch import nn


@register_task
class TeacherStudent(BaseTask):
    """Fit ``y = teacher(x)`` for Gaussian ``x`` with a student of the teacher's shape.

    The teacher is ``in_dim -> hidden x depth -> 1`` with weights drawn from ``teacher_seed``
    and ``teacher_activation`` (one of :data:`TEACHER_ACTIVATIONS`, or any activation config,
    its parameters fixed) after each hidden layer;
    the student is the same MLP with the candidate activation. Targets are standardised, so the
    metric ``val_loss`` (MSE) is the fraction of variance left unexplained.
    """

    name = "teacher-student"
    description = "regress a random teacher MLP (silu by default); the search should recover it"
    metric = "val_loss"
    mode = "min"
    problem = "regression"
    default_settings = TaskSettings(
        epochs=40,
        batch_size=64,
        lr=1e-2,
        optimizer="adam",
        options={
            "teacher_activation": "silu",
            "teacher_seed": 0,
            "in_dim": 8,
            "hidden": 32,
            "depth": 1,
            "schedule": "cosine",
            "n_train": 2000,
            "n_val": 500,
            "n_test": 500,
        },
    )
    open_options = frozenset({"teacher_activation"})
    smoke_options: ClassVar[dict[str, Any]] = {"n_train": 128, "n_val": 32, "n_test": 32}

    def check_options(self) -> None:
        from afsearch.tasks._data import TEACHER_ACTIVATIONS

        teacher = self.options["teacher_activation"]
        if isinstance(teacher, Mapping):
            self._check_teacher_config(teacher)
        elif teacher not in TEACHER_ACTIVATIONS:
            raise self.option_error(
                "teacher_activation",
                f"one of {choices(TEACHER_ACTIVATIONS)} or an activation config such as "
                "{family: swish, beta: 2.5}",
            )
        self.check_at_least(0, "teacher_seed")
        self.check_at_least(1, "in_dim", "hidden", "depth", "n_val", "n_test")
        self.check_at_least(2, "n_train")  # the target std needs two points

    def _check_teacher_config(self, teacher: Mapping[str, Any]) -> None:
        from afsearch.activations import build

        try:
            build(dict(teacher))
        except AfsearchError as exc:
            raise AfsearchError(
                f"Option 'teacher_activation' of task {self.name!r} is not an activation: {exc}"
            ) from None

    def build_data(self, seed: int) -> TaskData:
        from afsearch.tasks._data import teacher_data

        keys = ("teacher_activation", "teacher_seed", "in_dim", "hidden", "depth")
        sizes = ("n_train", "n_val", "n_test")
        return teacher_data(seed, **{key: self.options[key] for key in keys + sizes})

    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        from afsearch.tasks._networks import MLP

        options = self.options
        return MLP(options["in_dim"], 1, make_activation, options["hidden"], options["depth"])
