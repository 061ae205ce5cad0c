"""The one exception type that user errors raise.

Every error that is the user's doing (a bad YAML key, an unknown family, an unsafe expression, a
bad database URL) raises :class:`AfsearchError` with one sentence that names the argument, shows
the bad value and says what would be valid. The CLI prints that sentence and exits non-zero.
"""

from __future__ import annotations


class AfsearchError(Exception):
    """A user error: the message is one sentence meant to be shown as is."""


class UnsafeExpressionError(AfsearchError):
    """An expression string was refused by the allow-list parser."""


class DivergedError(AfsearchError):
    """Training produced a NaN or infinite loss."""


def choices(values: object) -> str:
    """Format valid choices for an error message: ``'a', 'b' or 'c'``."""
    items = [repr(v) for v in sorted(values)]  # type: ignore[call-overload]
    if not items:
        return "(none)"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis, for tables and messages."""
    return text if len(text) <= width else text[: width - 1] + "…"


def number_hint(value: object) -> str:
    """What to add to "must be a number, got ..." when ``value`` is a string that reads as a
    number: YAML 1.1 (PyYAML) reads ``1e-4``, without a dot, as a string."""
    if not isinstance(value, str):
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    fixed = value if "." in value else value.replace("e", ".0e", 1).replace("E", ".0E", 1)
    return f" (YAML reads {value} as a string; write {fixed})"
