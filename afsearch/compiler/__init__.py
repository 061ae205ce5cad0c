"""SymPy to PyTorch: compiled modules and standalone exported code."""

from afsearch.compiler._module import CompiledActivation
from afsearch.compiler._table import register_function, supported_names

__all__ = ["CompiledActivation", "register_function", "supported_names"]

from afsearch.compiler._export import Exported, export_activation, render_module

__all__ += ["Exported", "export_activation", "render_module"]
