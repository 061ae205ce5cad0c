"""Activation sites: how a network asks for the activation at one site, and how many it has.

A network calls ``make_activation()`` once per site. A built-in network also tells the
activation the number of channels of its input there (dim 1: the width after a linear layer,
the channels after a convolution), through :func:`site_activation`, which passes
``channels=`` only to a ``make_activation`` that takes it: ``nn.ReLU`` (whose first argument is
``inplace``) and a user's ``lambda: ...`` are called with no argument, as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from afsearch.exceptions import AfsearchError

if TYPE_CHECKING:
    from torch import nn

    from afsearch.tasks._base import BaseTask


def takes_channels(make_activation: Callable[..., Any]) -> bool:
    """Whether ``make_activation`` names a ``channels`` parameter. ``**kwargs`` alone does not
    count: every ``nn.Module`` class takes them and refuses what it does not know."""
    try:
        params = inspect.signature(make_activation).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return any(
        p.name == "channels" and p.kind is not inspect.Parameter.POSITIONAL_ONLY for p in params
    )


def site_activation(make_activation: Callable[..., nn.Module], channels: int | None) -> nn.Module:
    """The activation of one site whose input has ``channels`` channels along dim 1."""
    if channels is not None and takes_channels(make_activation):
        return make_activation(channels=channels)
    return make_activation()


def count_sites(task: BaseTask) -> list[int | None]:
    """The channel count of each activation site of ``task``'s network, in the order the network
    calls ``make_activation`` (``None`` where the network does not say).

    Builds the network once on the CPU with identity activations: cheap for the built-in ones.
    A training function has no network apart from its training: it is run up to its first
    forward through an activation instead.
    """
    from torch import nn

    from afsearch.tasks._function import FunctionTask

    if isinstance(task, FunctionTask):
        sites_of_function = task.site_channels()
        if not sites_of_function:
            raise AfsearchError(
                f"Training function {task.name!r} never calls trial.make_activation, so it "
                "has no activation site to give a candidate."
            )
        return sites_of_function

    sites: list[int | None] = []

    def make_activation(channels: int | None = None, **_: Any) -> nn.Module:
        # Keyword arguments such as timm's inplace= do not change what a site is.
        sites.append(channels)
        return nn.Identity()

    try:
        task.build_model(make_activation)
    except Exception as exc:  # the user's network: any failure is reported as a sentence
        raise AfsearchError(
            f"The network of task {task.name!r} could not be built to count its activation "
            f"sites ({type(exc).__name__}: {exc}); per_site needs a task whose build_model "
            "runs on the CPU."
        ) from None
    if not sites:
        raise AfsearchError(
            f"The network of task {task.name!r} never calls make_activation, so it has no "
            "activation site to give a candidate; per_site needs at least one."
        )
    return sites
