"""Training tasks that score a candidate activation, a registry of them, and the training loop.

A task builds its data and a network around ``make_activation`` (called once per activation
site); :meth:`BaseTask.fit` trains it and yields an :class:`EpochResult` per epoch::

    from torch import nn
    from afsearch.tasks import get_task

    task = get_task("digits-mlp")
    for result in task.fit(nn.ReLU, seed=0):
        print(result.epoch, result.metrics["val_accuracy"])

Built-in tasks: ``digits-mlp`` (quickstart), ``mnist1d-mlp``, ``mnist1d-cnn``,
``teacher-student``, ``cifar10-resnet20``, and tasks where the activation decides the result:
``inr-image`` (an image as a function of its coordinates, SIREN's setting), ``pinn-poisson`` and
``pinn-burgers`` (physics-informed networks, which take two derivatives of the activation), and
``image-folder`` (the user's images, any timm model; ``pip install 'afsearch[vision]'``);
:func:`list_tasks` lists them.

Your own task needs no registration: subclass :class:`BaseTask` in an importable module, say
``mypkg/tasks.py``::

    import torch
    from torch import nn

    from afsearch.tasks import BaseTask, TaskData, TaskSettings


    class MyTask(BaseTask):
        name = "my-task"
        description = "XOR-like points, a small MLP"
        metric = "val_accuracy"
        mode = "max"
        default_settings = TaskSettings(epochs=5, batch_size=32, options={"n": 600})

        def build_data(self, seed: int) -> TaskData:
            g = torch.Generator().manual_seed(seed)
            x = torch.randn(self.options["n"], 2, generator=g)
            y = (x[:, 0] * x[:, 1] > 0).long()
            return TaskData(x[:400], y[:400], x[400:500], y[400:500], x[500:], y[500:])

        def build_model(self, make_activation) -> nn.Module:
            return nn.Sequential(nn.Linear(2, 32), make_activation(), nn.Linear(32, 2))

and name it by import path, ``module:attribute``, wherever a task name goes::

    afsearch launch space.yaml --task mypkg.tasks:MyTask

The attribute may also be a function that takes the settings (or None) and returns a task.
"""

from typing import TYPE_CHECKING, Any

from afsearch.tasks._base import BaseTask, TaskData, TaskDatasets

# Importing the task modules registers the built-in tasks. They import torch where they train
# or build a network, so listing tasks and checking a space's task settings load no torch.
from afsearch.tasks._cifar10 import CIFAR10ResNet20
from afsearch.tasks._digits import DigitsMLP
from afsearch.tasks._function import FunctionTask, Trial, TrialStopped
from afsearch.tasks._image_folder import ImageFolderTask
from afsearch.tasks._inr_image import INRImage
from afsearch.tasks._mnist1d import MNIST1DCNN, MNIST1DMLP
from afsearch.tasks._pinn_burgers import PINNBurgers
from afsearch.tasks._pinn_poisson import PINNPoisson
from afsearch.tasks._registry import get_task, list_tasks, register_task, task_class
from afsearch.tasks._settings import COMMON_OPTIONS, TaskSettings
from afsearch.tasks._sites import count_sites, site_activation
from afsearch.tasks._teacher_student import TeacherStudent

if TYPE_CHECKING:
    from afsearch.tasks._activation_factory import COMPILE_AFTER_S, ActivationFactory
    from afsearch.tasks._batches import sample_batches
    from afsearch.tasks._data import TEACHER_ACTIVATIONS
    from afsearch.tasks._networks import MLP, ConvNet1d, ResNet20
    from afsearch.tasks._optim import make_optimizer
    from afsearch.tasks._training import EpochResult, seed_everything

#: Names whose modules need torch, imported on first use (PEP 562).
_LAZY = {
    "COMPILE_AFTER_S": "afsearch.tasks._activation_factory",
    "ActivationFactory": "afsearch.tasks._activation_factory",
    "sample_batches": "afsearch.tasks._batches",
    "TEACHER_ACTIVATIONS": "afsearch.tasks._data",
    "MLP": "afsearch.tasks._networks",
    "ConvNet1d": "afsearch.tasks._networks",
    "ResNet20": "afsearch.tasks._networks",
    "EpochResult": "afsearch.tasks._training",
    "seed_everything": "afsearch.tasks._training",
    "make_optimizer": "afsearch.tasks._optim",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'afsearch.tasks' has no attribute {name!r}")


__all__ = [
    "COMMON_OPTIONS",
    "COMPILE_AFTER_S",
    "MLP",
    "MNIST1DCNN",
    "MNIST1DMLP",
    "TEACHER_ACTIVATIONS",
    "ActivationFactory",
    "BaseTask",
    "CIFAR10ResNet20",
    "ConvNet1d",
    "DigitsMLP",
    "EpochResult",
    "FunctionTask",
    "INRImage",
    "ImageFolderTask",
    "PINNBurgers",
    "PINNPoisson",
    "ResNet20",
    "TaskData",
    "TaskDatasets",
    "TaskSettings",
    "TeacherStudent",
    "Trial",
    "TrialStopped",
    "count_sites",
    "get_task",
    "list_tasks",
    "make_optimizer",
    "register_task",
    "sample_batches",
    "seed_everything",
    "site_activation",
    "task_class",
]
