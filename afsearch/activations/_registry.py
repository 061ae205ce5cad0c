"""The family registry: each family turns a config into a :class:`Candidate`."""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import Candidate, Param


@dataclass(frozen=True)
class ParamSpec:
    """A scalar parameter of a family: default, range, and whether it trains by default."""

    name: str
    default: float
    low: float = -math.inf
    high: float = math.inf
    log: bool = False
    trainable: bool = False
    doc: str = ""

    def check(self, family: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AfsearchError(
                f"Parameter {self.name!r} of family {family!r} must be a number, got {value!r}."
            )
        v = float(value)
        if not (self.low <= v <= self.high):
            raise AfsearchError(
                f"Parameter {self.name!r} of family {family!r} must lie in "
                f"[{self.low}, {self.high}], got {value!r}."
            )
        return v

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": self.default,
            "low": None if math.isinf(self.low) else self.low,
            "high": None if math.isinf(self.high) else self.high,
            "log": self.log,
            "trainable": self.trainable,
            "doc": self.doc,
        }


class BaseFamily(abc.ABC):
    """A family of activations.

    Subclasses set ``name``, ``formula`` (readable text), ``params`` (scalar parameters) and
    ``options`` (structural settings with their defaults), and implement :meth:`expression`.
    :meth:`build` validates the config and is not overridden.
    """

    name: ClassVar[str]
    formula: ClassVar[str]
    citation: ClassVar[str] = ""
    params: ClassVar[tuple[ParamSpec, ...]] = ()
    options: ClassVar[Mapping[str, Any]] = {}

    def build(self, config: Mapping[str, Any] | None = None) -> Candidate:
        config = dict(config or {})
        config.pop("family", None)
        valid = {p.name for p in self.params} | set(self.options) | {"trainable"}
        unknown = set(config) - valid
        if unknown:
            raise AfsearchError(
                f"Family {self.name!r} has no setting {sorted(unknown)[0]!r}; valid settings "
                f"are {choices(valid)}."
            )
        opts = {k: config.get(k, v) for k, v in self.options.items()}
        trainable = self._trainable(config.get("trainable"))
        values = {p.name: p.check(self.name, config.get(p.name, p.default)) for p in self.params}
        params = {
            p.name: Param(values[p.name], trainable.get(p.name, p.trainable)) for p in self.params
        }
        expr, extra = self.expression(params, opts, trainable)
        params.update(extra)
        return Candidate(expr, params, self.name, {"family": self.name, **config})

    def _trainable(self, spec: Any) -> dict[str, bool]:
        names = [p.name for p in self.params]
        if spec is None:
            return {}
        if isinstance(spec, bool):
            return dict.fromkeys(names, spec) | {"*": spec}
        if isinstance(spec, (list, tuple)):
            bad = [s for s in spec if s not in names]
            if bad:
                raise AfsearchError(
                    f"Family {self.name!r} has no parameter {bad[0]!r} to train; its parameters "
                    f"are {choices(names)}."
                )
            return {n: n in spec for n in names}
        raise AfsearchError(
            f"'trainable' of family {self.name!r} must be true, false or a list of parameter "
            f"names, got {spec!r}."
        )

    @abc.abstractmethod
    def expression(
        self, params: dict[str, Param], options: dict[str, Any], trainable: dict[str, bool]
    ) -> tuple[Any, dict[str, Param]]:
        """The SymPy expression, and any parameters beyond ``self.params`` it introduces."""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "formula": self.formula,
            "parameters": [p.to_dict() for p in self.params],
            "options": {k: _jsonable(v) for k, v in self.options.items()},
            "citation": self.citation,
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_jsonable(i) for i in v]
    return v


_FAMILIES: dict[str, BaseFamily] = {}


def register_family(family: BaseFamily | type[BaseFamily]) -> BaseFamily:
    """Add a family; a duplicate name is refused. Usable as a class decorator."""
    instance = family() if isinstance(family, type) else family
    if instance.name in _FAMILIES:
        raise AfsearchError(f"A family named {instance.name!r} is already registered.")
    _FAMILIES[instance.name] = instance
    return family  # type: ignore[return-value]


def get_family(name: str) -> BaseFamily:
    if name not in _FAMILIES:
        raise AfsearchError(f"Unknown family {name!r}; valid families are {choices(_FAMILIES)}.")
    return _FAMILIES[name]


def list_families() -> list[BaseFamily]:
    return [_FAMILIES[n] for n in sorted(_FAMILIES)]


def build(config: Mapping[str, Any]) -> Candidate:
    """Build a candidate from a config with a ``family`` key.

    >>> build({"family": "prelu", "a": 0.1}).text
    'a*Min(0, x) + Max(0, x)'
    """
    if not isinstance(config, Mapping) or "family" not in config:
        raise AfsearchError(
            f"An activation config must be a mapping with a 'family' key, got {config!r}; "
            f"valid families are {choices(_FAMILIES)}."
        )
    return get_family(str(config["family"])).build(config)
