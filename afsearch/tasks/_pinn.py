"""What every physics-informed task shares: the loss from the residual, the metric, the data.

A physics-informed network (PINN, Raissi et al. 2019) fits ``u(x)`` by minimising the residual
of a PDE at collocation points plus the misfit at boundary and initial points; the residual
takes derivatives of the network, computed by autograd with ``create_graph`` so the optimizer
can differentiate them again. A second-order PDE takes two derivatives of the activation, so a
:class:`PINNTask` declares ``derivatives = 2`` and refuses candidates with kinks (ReLU's second
derivative is zero almost everywhere). Jagtap, Kawaguchi & Karniadakis 2020 show the activation
changes a PINN's error by large factors.

Training rows are the point's coordinates and a last column that is 1 on boundary or initial
points (the target is ``u`` there) and 0 on collocation points (the target is the residual,
0). Validation and test rows are coordinates only, with the reference solution as the target,
so ``val_loss`` is the mean squared error against it and the metric ``val_rel_l2`` is
``||u - u_ref|| / ||u_ref||``.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from afsearch.tasks._base import BaseTask
from afsearch.tasks._settings import TaskSettings

if TYPE_CHECKING:
    import torch
    from torch import nn


#: The options every PINN task has, with their defaults.
PINN_OPTIONS = {
    "width": 32,
    "depth": 3,
    "n_interior": 256,
    "n_boundary": 64,
    "boundary_weight": 1.0,
    "steps_per_epoch": 100,
}


def derivative(u: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """``du/dcoords`` per row, kept in the graph so the loss can be differentiated again."""
    import torch

    (grad,) = torch.autograd.grad(u, coords, torch.ones_like(u), create_graph=True)
    return grad


def pinn_settings(epochs: int, lr: float, **options: object) -> TaskSettings:
    """Full-batch Adam settings with the PINN options (``options`` override or add)."""
    return TaskSettings(
        epochs=epochs,
        batch_size=65536,
        lr=lr,
        optimizer="adam",
        options={**PINN_OPTIONS, **options},
    )


class PINNTask(BaseTask):
    """A PDE solved by a ``dims -> width x depth -> 1`` MLP trained on its residual.

    Subclasses set ``dims`` and implement :meth:`residual` and ``build_data``; the loss, the
    metric and the network are here. Training is full batch (``batch_size`` at least the
    training rows) with ``steps_per_epoch`` Adam steps an epoch.
    """

    metric = "val_rel_l2"
    mode = "min"
    problem = "regression"
    derivatives: ClassVar[int] = 2
    #: How many coordinates a point has (x, or x and t).
    dims: ClassVar[int] = 1

    @abc.abstractmethod
    def residual(self, coords: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """The PDE's residual at ``coords`` (which require grad) where the network gives ``u``,
        scaled so that it is of order one; zero for the exact solution."""

    def check_options(self) -> None:
        self.check_at_least(1, "width", "depth", "n_interior", "n_boundary", "steps_per_epoch")
        weight = self.options["boundary_weight"]
        if not math.isfinite(weight) or weight <= 0:
            raise self.option_error("boundary_weight", "a finite number above 0")

    def steps_per_epoch(self, n_train: int) -> int:
        return int(self.options["steps_per_epoch"])

    def training_loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        coords = x[:, :-1].detach().requires_grad_(True)
        on_boundary = x[:, -1:]
        inside = 1.0 - on_boundary
        u = model(coords)
        r = self.residual(coords, u)
        pde = (inside * r.float().square()).sum() / inside.sum().clamp(min=1.0)
        misfit = (on_boundary * (u.float() - y).square()).sum() / on_boundary.sum().clamp(min=1.0)
        return pde + float(self.options["boundary_weight"]) * misfit

    def loss_metrics(self, prefix: str, loss: float, target: torch.Tensor) -> dict[str, float]:
        scale = float(target.float().square().mean())
        return {f"{prefix}_rel_l2": math.sqrt(loss / scale)}

    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        from afsearch.tasks._networks import MLP

        return MLP(self.dims, 1, make_activation, self.options["width"], self.options["depth"])


def rows(coords: torch.Tensor, boundary: bool) -> torch.Tensor:
    """Training rows: ``coords`` with the last column that marks boundary points."""
    import torch

    flag = torch.full((coords.shape[0], 1), 1.0 if boundary else 0.0)
    return torch.cat([coords, flag], dim=1)
