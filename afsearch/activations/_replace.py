"""Swapping the activations of a network that is already built.

>>> from torch import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2), nn.GELU())
>>> [name for name, _ in replace_activations(model, nn.GELU, nn.SiLU)]
['1', '3']
>>> model[1]
SiLU()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from afsearch.exceptions import AfsearchError

if TYPE_CHECKING:
    from torch import nn

    Old = type[nn.Module] | tuple[type[nn.Module], ...] | Callable[[nn.Module], bool]

_NOT_MODULE_TYPES = (
    "old must be an nn.Module subclass (nn.GELU), a tuple of them (nn.GELU, nn.ReLU) or a "
    "function that takes a module and returns True for one to replace, got {!r}."
)


def _matcher(old: Any) -> Callable[[nn.Module], bool]:
    """``old`` as a test of one module, checked."""
    from torch import nn

    def is_module_type(t: Any) -> bool:
        return isinstance(t, type) and issubclass(t, nn.Module)

    if isinstance(old, tuple):
        if not old or not all(is_module_type(t) for t in old):
            raise AfsearchError(_NOT_MODULE_TYPES.format(old))
        return lambda module: isinstance(module, old)
    if isinstance(old, type):
        if not is_module_type(old):
            raise AfsearchError(_NOT_MODULE_TYPES.format(old))
        return lambda module: isinstance(module, old)
    if isinstance(old, nn.Module) or not callable(old):
        raise AfsearchError(_NOT_MODULE_TYPES.format(old))
    return lambda module: bool(old(module))


def _made(new: Callable[[], nn.Module], name: str) -> nn.Module:
    from torch import nn

    module = new()
    if not isinstance(module, nn.Module):
        raise AfsearchError(
            f"new must make an nn.Module; called for {name!r} it returned {module!r}."
        )
    return module


def replace_activations(
    model: nn.Module, old: Old, new: Callable[[], nn.Module]
) -> list[tuple[str, nn.Module]]:
    """Replace every module of ``model`` that ``old`` matches with a fresh one from ``new``.

    ``old`` is an ``nn.Module`` subclass, a tuple of them, or a function that takes a module
    and says whether to replace it. ``new`` is called with no argument once per site: a module
    class (``nn.SiLU``, an exported activation's class), or a function such as
    ``lambda: CompiledActivation(candidate)``. It is not told the site's channels: for a
    per-channel activation, build that site yourself with ``channels=``.

    The model is walked in the order of ``model.named_modules()`` and each match is set on its
    parent under its name (attributes, and the entries of ``nn.Sequential``, ``nn.ModuleList``
    and ``nn.ModuleDict``); what a replaced module contained is not visited. A module held at
    two sites is replaced at each, by a fresh module each. Returns ``(qualified_name,
    replaced_module)`` for each site in that order, the module being the one taken out; an
    empty list when nothing matched. ``model`` itself is never replaced.
    """
    from torch import nn

    matches = _matcher(old)
    if isinstance(new, nn.Module) or not callable(new):
        raise AfsearchError(
            f"new must be a module class or a function that makes a module when called with "
            f"no argument (nn.SiLU, not nn.SiLU()), got {new!r}."
        )
    if not isinstance(model, nn.Module):
        raise AfsearchError(f"model must be an nn.Module, got {type(model).__name__}.")
    if matches(model):
        raise AfsearchError(
            f"The model itself ({type(model).__name__}) matches old, and replace_activations "
            "replaces only what the model contains; wrap it, for example in nn.Sequential(model)."
        )
    replaced: list[tuple[str, nn.Module]] = []
    # A snapshot of every site, shared modules included, so new modules are never visited.
    sites = list(model.named_modules(remove_duplicate=False))
    for name, module in sites[1:]:
        if any(name.startswith(f"{done}.") for done, _ in replaced) or not matches(module):
            continue
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        # A parent held at two sites has had this child replaced at the first already.
        if getattr(parent, child) is not module:
            continue
        setattr(parent, child, _made(new, name))
        replaced.append((name, module))
    return replaced
