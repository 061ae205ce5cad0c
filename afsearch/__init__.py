"""afsearch: search for neural-network activation functions.

``afsearch.replace_activations(model, nn.GELU, SwishBeta)`` swaps the activations of a network
that is already built (:func:`afsearch.activations.replace_activations`); the other names live
in their subpackages. Names here are imported when first used, so ``import afsearch`` stays
light.
"""

from typing import TYPE_CHECKING

from afsearch._lazy import lazy_surface

if TYPE_CHECKING:
    from afsearch.activations import replace_activations

__version__ = "0.1.0"

_HOMES = {"replace_activations": "afsearch.activations"}

__all__ = ["replace_activations"]

__getattr__, __dir__ = lazy_surface(__name__, _HOMES)
