"""``pinn-poisson``: the 1-D Poisson equation ``-u'' = f`` on [-1, 1], solved by a PINN.

The source ``f = (k pi)^2 sin(k pi x)`` and ``u(-1) = u(1) = 0`` make ``u = sin(k pi x)`` the
exact solution, with ``k`` the option ``frequency``; a higher frequency is harder for networks
with a spectral bias towards smooth functions. The residual is divided by ``(k pi)^2`` so that
it is of order one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

from afsearch.tasks._base import TaskData
from afsearch.tasks._pinn import PINNTask, derivative, pinn_settings, rows
from afsearch.tasks._registry import register_task

if TYPE_CHECKING:
    import torch


#: Points of the validation grid; the test grid is its midpoints.
GRID = 512


def poisson_solution(x: torch.Tensor, frequency: int) -> torch.Tensor:
    """The exact solution ``sin(k pi x)``."""
    import torch

    return torch.sin(frequency * math.pi * x)


@register_task
class PINNPoisson(PINNTask):
    """``-u'' = (k pi)^2 sin(k pi x)``, ``u(+-1) = 0``; the metric is the relative L2 error.

    ``n_interior`` collocation points are drawn uniformly with the seed; the two boundary
    points are repeated ``n_boundary / 2`` times each, so ``boundary_weight`` weighs the two
    terms of the loss as written.
    """

    name = "pinn-poisson"
    description = (
        "PINN for -u'' = f on [-1, 1], u = sin(2 pi x); relative L2 error (takes 2 derivatives)"
    )
    dims = 1
    default_settings = pinn_settings(epochs=10, lr=3e-3, frequency=2, schedule="cosine")
    smoke_options: ClassVar[dict[str, Any]] = {
        "width": 8,
        "depth": 2,
        "n_interior": 32,
        "n_boundary": 2,
        "steps_per_epoch": 2,
    }

    def check_options(self) -> None:
        super().check_options()
        self.check_at_least(1, "frequency")

    def residual(self, coords: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        import torch

        k_pi = self.options["frequency"] * math.pi
        u_xx = derivative(derivative(u, coords), coords)
        return u_xx / k_pi**2 + torch.sin(k_pi * coords)

    def build_data(self, seed: int) -> TaskData:
        import torch

        generator = torch.Generator().manual_seed(seed)
        k = self.options["frequency"]
        inside = torch.rand(self.options["n_interior"], 1, generator=generator) * 2 - 1
        ends = torch.tensor([[-1.0], [1.0]]).repeat(max(1, self.options["n_boundary"] // 2), 1)
        x_train = torch.cat([rows(inside, False), rows(ends, True)])
        y_train = torch.cat([torch.zeros(inside.shape[0], 1), poisson_solution(ends, k)])
        x_val = torch.linspace(-1.0, 1.0, GRID).reshape(-1, 1)
        x_test = (x_val[:-1] + x_val[1:]) / 2
        return TaskData(
            x_train,
            y_train,
            x_val,
            poisson_solution(x_val, k),
            x_test,
            poisson_solution(x_test, k),
        )
