"""Where in a space file a value sits, so every error names the file, the key and the value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from afsearch.exceptions import AfsearchError, shorten


@dataclass(frozen=True)
class Where:
    """A key path in a source file: ``Where("space.yaml").at("families[0]").at("beta")``."""

    source: str
    path: str = ""

    def at(self, key: str) -> Where:
        if key.startswith("["):
            return Where(self.source, self.path + key)
        return Where(self.source, f"{self.path}.{key}" if self.path else key)

    def error(self, message: str) -> AfsearchError:
        where = f"{self.source}: {self.path}: " if self.path else f"{self.source}: "
        return AfsearchError(where + message)


def show(v: Any) -> str:
    """A value as an error message shows it: its repr, cut to 80 characters."""
    return shorten(repr(v), 80)
