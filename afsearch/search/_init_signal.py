"""Training-free signals of a task's network at initialisation with a candidate in it.

The prescreen's ``features: [outputs, init]`` adds one of these to the function's own outputs.
:class:`InitProbe` builds the task's network (the study's settings, a fixed initialisation seed
and a fixed batch of training data) around a candidate and measures, in one pass:

- ``grad_norm``: the log10 norm of the loss gradient, per weight layer (input to output);
- ``fisher``: the log10 eigenvalues of the empirical Fisher information of 16 examples (the
  Gram matrix of their per-example loss gradients; AQuaSurF's signal);
- ``ntk``: the log10 eigenvalues of the empirical neural tangent kernel of the same examples
  (per-example gradients of the summed outputs);
- ``loss_after``: the batch loss at initialisation and after a handful of optimizer steps
  (the task's optimizer and learning rate) on training batches.

``benchmarks/bench_prescreen.py --signals`` measures how well each ranks candidates (Spearman
against the trained metric, alone and added to the output features in the prescreen's Gaussian
process); :data:`KEPT` is the one the prescreen uses. The probe also refuses a network whose
gradients are not finite, vanish, or explode from the last weight layer to the first at
initialisation, with the reason.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from afsearch.activations import build
from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError

SIGNALS = ("grad_norm", "fisher", "ntk", "loss_after")
#: The signal ``features: [init]`` adds (see ``docs/RESULTS.md``, the prescreen's signals).
KEPT = "ntk"
#: Examples of the fixed batch whose per-example gradients make the Fisher and NTK spectra.
EXAMPLES = 16
#: Optimizer steps of ``loss_after``.
STEPS = 8
#: First-to-last weight-layer gradient ratio beyond which gradients explode (or, inverted,
#: vanish) through the network; a decade either way is normal for the built-in tasks.
RATIO_LIMIT = 1e4
#: A total gradient below this at initialisation has vanished; above, it has exploded (ReLU's
#: is about 0.3 on the built-in tasks).
VANISHED_BELOW = 1e-8
EXPLODED_ABOVE = 1e5

GRADS_NOT_FINITE = "gradients not finite through the task's network at initialisation"
GRADS_VANISH = "gradients vanish through the task's network at initialisation"
GRADS_EXPLODE = "gradients explode through the task's network at initialisation"
LOSS_NOT_FINITE = "loss not finite in a few optimizer steps from initialisation"


def _log10(x: torch.Tensor | float) -> np.ndarray:
    t = torch.as_tensor(x, dtype=torch.float64).clamp_min(1e-30)
    return np.asarray(torch.log10(t).detach().numpy(), dtype=float)


class InitProbe:
    """Measures a task's network at initialisation with each candidate activation in it."""

    def __init__(
        self,
        task: str,
        settings: Any,
        *,
        seed: int = 0,
        batch: int = 64,
        search_path: Any = None,
    ) -> None:
        from afsearch.tasks import get_task, make_optimizer, sample_batches

        self.make_optimizer = make_optimizer
        try:
            self.task = get_task(task, settings, search_path=search_path)
            self.seed = seed
            self.batches = sample_batches(self.task, seed, batch, STEPS + 1)
            torch.manual_seed(seed)
            self.task.build_model(nn.ReLU)(self.batches[0][0])
        except AfsearchError:
            raise
        except Exception as exc:  # a user task's network: any error means it cannot be built
            raise AfsearchError(
                f"prescreen features 'init' need the network of task {task!r}, which could not "
                f"be built and run on a batch: {type(exc).__name__}: {exc}."
            ) from None
        self.x, self.y = self.batches[0]

    def _model(self, config: Mapping[str, Any]) -> tuple[nn.Module, list[nn.Parameter]]:
        candidate = build(config)
        sites: list[nn.Module] = []

        def make(**_: Any) -> nn.Module:  # a network may pass timm's inplace=
            module = CompiledActivation(candidate)
            sites.append(module)
            return module

        torch.manual_seed(self.seed)
        model = self.task.build_model(make)
        return model, [p for s in sites for p in s.parameters()]

    def measure(
        self, config: Mapping[str, Any], signals: tuple[str, ...] = SIGNALS
    ) -> dict[str, np.ndarray] | str:
        """Each signal of ``signals`` as a vector, or why the network cannot train."""
        try:
            model, own = self._model(config)
        except AfsearchError:
            return "does not build"
        own_ids = {id(p) for p in own}
        weights = [p for p in model.parameters() if p.dim() >= 2 and id(p) not in own_ids]
        loss = self.task.loss_fn(model(self.x), self.y)
        start = float(loss.detach())
        if not math.isfinite(start):
            return GRADS_NOT_FINITE
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
        norms = torch.stack(
            [torch.zeros(()) if g is None else g.detach().double().norm() for g in grads]
        )
        if not torch.isfinite(norms).all():
            return GRADS_NOT_FINITE
        if float(norms.norm()) < VANISHED_BELOW:
            return GRADS_VANISH
        if float(norms.norm()) > EXPLODED_ABOVE:
            return GRADS_EXPLODE
        ratio = float(norms[0].clamp_min(1e-30) / norms[-1].clamp_min(1e-30))
        if ratio > RATIO_LIMIT:
            return GRADS_EXPLODE
        if ratio < 1 / RATIO_LIMIT:
            return GRADS_VANISH
        out: dict[str, np.ndarray] = {}
        if "grad_norm" in signals:
            out["grad_norm"] = _log10(norms)
        if "fisher" in signals or "ntk" in signals:
            params = [p for p in model.parameters() if p.requires_grad]
            fisher, ntk = [], []
            for i in range(min(EXAMPLES, self.x.shape[0])):
                xi, yi = self.x[i : i + 1], self.y[i : i + 1]
                output = model(xi)
                if "fisher" in signals:
                    g = torch.autograd.grad(
                        self.task.loss_fn(output, yi), params, retain_graph=True, allow_unused=True
                    )
                    fisher.append(torch.cat([_flat(a, p) for a, p in zip(g, params, strict=True)]))
                if "ntk" in signals:
                    g = torch.autograd.grad(output.sum(), params, allow_unused=True)
                    ntk.append(torch.cat([_flat(a, p) for a, p in zip(g, params, strict=True)]))
            for name, rows in (("fisher", fisher), ("ntk", ntk)):
                if rows:
                    gram = torch.stack(rows).double()
                    gram = gram @ gram.T / len(rows)
                    if not torch.isfinite(gram).all():
                        return GRADS_NOT_FINITE
                    eig = torch.linalg.eigvalsh(gram).flip(0)
                    out[name] = _log10(eig)
        if "loss_after" in signals:
            trained = copy.deepcopy(model)
            own_after = [p for p in trained.parameters() if id(p) in own_ids]
            optimizer = self.make_optimizer(
                trained,
                self.task.settings,
                activation_params=own_after,
                lr_factor=float(self.task.options["activation_lr_factor"]),
                activation_weight_decay=float(self.task.options["activation_weight_decay"]),
            )
            for xb, yb in self.batches[1:]:
                optimizer.zero_grad()
                step_loss = self.task.loss_fn(trained(xb), yb)
                if not torch.isfinite(step_loss):
                    return LOSS_NOT_FINITE
                step_loss.backward()
                optimizer.step()
            with torch.no_grad():
                after = float(self.task.loss_fn(trained(self.x), self.y))
            if not math.isfinite(after):
                return LOSS_NOT_FINITE
            out["loss_after"] = np.array([start, after, after - start])
        return out


def _flat(grad: torch.Tensor | None, param: torch.Tensor) -> torch.Tensor:
    return torch.zeros(param.numel()) if grad is None else grad.detach().reshape(-1)
