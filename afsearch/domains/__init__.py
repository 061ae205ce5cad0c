"""The vocabulary of search spaces, below the families that own their sub-spaces.

A value is fixed, a :class:`Choice` or a :class:`Range`; a :class:`FamilySpace` is one entry of
a space's ``families``; :class:`Where` names a key of the file in every error.

>>> from afsearch.domains import Where, parse_value
>>> parse_value(Where("space.yaml", "families[0].beta"), {"low": 0.5, "high": 2.0})
Range(low=0.5, high=2.0, log=False, step=None, integer=False)
"""

from afsearch.domains._family_space import FamilySpace
from afsearch.domains._values import (
    Choice,
    Range,
    Suggester,
    Value,
    grid_options,
    grid_values,
    literal,
    parse_value,
    suggest,
    value_options,
)
from afsearch.domains._where import Where, show

__all__ = [
    "Choice",
    "FamilySpace",
    "Range",
    "Suggester",
    "Value",
    "Where",
    "grid_options",
    "grid_values",
    "literal",
    "parse_value",
    "show",
    "suggest",
    "value_options",
]
