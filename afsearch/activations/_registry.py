"""The family registry: each family turns a config into a :class:`Candidate`, and owns its
sub-space of a search space (how it is read, sampled, enumerated for a grid and labelled)."""

from __future__ import annotations

import abc
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from afsearch.domains import (
    Choice,
    FamilySpace,
    Range,
    Suggester,
    Where,
    grid_values,
    parse_value,
    show,
    suggest,
)
from afsearch.exceptions import AfsearchError, choices, shorten
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
    #: Whether any config of the family has a parameter to train (``per_channel`` needs one).
    can_train: ClassVar[bool] = True
    #: The kind of function the family makes, the niche a search keeps alive
    #: (``sampler_options.floor`` of evolution): ``parametric`` (a fixed shape with a few
    #: scalars), ``grammar`` (operator trees), ``series`` (SLAF expansions), ``rational``,
    #: ``ensemble``, ``named`` (the standard activations, written expressions).
    kind: ClassVar[str] = "parametric"

    def build(self, config: Mapping[str, Any] | None = None) -> Candidate:
        config = dict(config or {})
        config.pop("family", None)
        valid = {p.name for p in self.params} | set(self.options) | {"trainable", "per_channel"}
        unknown = set(config) - valid
        if unknown:
            raise AfsearchError(
                f"Family {self.name!r} has no setting {sorted(unknown)[0]!r}; valid settings "
                f"are {choices(valid)}."
            )
        per_channel = config.pop("per_channel", False)
        if not isinstance(per_channel, bool):
            raise AfsearchError(
                f"'per_channel' of family {self.name!r} must be true or false, got {per_channel!r}."
            )
        opts = {k: config.get(k, v) for k, v in self.options.items()}
        trainable = self._trainable(config.get("trainable"))
        values = {p.name: p.check(self.name, config.get(p.name, p.default)) for p in self.params}
        params = {
            p.name: Param(values[p.name], trainable.get(p.name, p.trainable)) for p in self.params
        }
        expr, extra = self.expression(params, opts, trainable)
        params.update(extra)
        candidate = Candidate(expr, params, self.name, {"family": self.name, **config})
        if not per_channel:
            return candidate
        if not self.can_train or config.get("trainable") is False:
            what = "has no parameter" if not self.can_train else "has trainable: false"
            raise AfsearchError(
                f"'per_channel' gives each channel its own value of a trainable parameter, and "
                f"family {self.name!r} {what}; drop per_channel, or choose a family with "
                "trainable parameters (swish, prelu, rational, slaf, ...)."
            )
        if not candidate.trainable:
            # A drawn unit without trainable parameters (a grammar's x*sigmoid(x)): per_channel
            # changes nothing, and the candidate is the plain function.
            return candidate
        config["per_channel"] = True
        return Candidate(expr, params, self.name, {"family": self.name, **config}, True)

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

    # -- The family's sub-space of a search space. Structural families (ensembles, grammars)
    # override these; the defaults read every setting as a value (fixed, choice or range).

    def parse_space(self, entry: Mapping[str, Any], where: Where) -> FamilySpace:
        """The sub-space one ``families`` entry of a space file describes."""
        values = {
            key: parse_value(where.at(key), raw)
            for key, raw in entry.items()
            if key not in ("family", "label")
        }
        return FamilySpace(str(entry.get("label", self.name)), self.name, values)

    def sample(self, space: FamilySpace, trial: Suggester, prefix: str) -> dict[str, Any]:
        """One config of the sub-space, drawn through ``trial`` under names starting ``prefix``."""
        config: dict[str, Any] = {"family": self.name}
        for key, v in space.values.items():
            config[key] = suggest(trial, f"{prefix}.{key}", v)
        return config

    def grid(self, space: FamilySpace) -> Iterator[dict[str, Any]]:
        """Every config of the sub-space (for ``sampler: grid``)."""
        for combo in grid_values(space.values, space.label):
            yield {"family": self.name, **combo}

    def mutate(
        self,
        config: Mapping[str, Any],
        space: FamilySpace,
        rng: random.Random,
        weights: Mapping[str, float] | None = None,
    ) -> dict[str, Any]:
        """A config near ``config`` in ``space``: one searched setting drawn anew (a range
        value moved by a Gaussian step of a fifth of its span, in log space for log ranges; a
        choice changed to another option). With nothing to change, a fresh draw. ``weights``
        weigh kinds of structural change (``sampler_options.mutations``); a family whose
        configs have no structure, as here, has none to weigh."""
        mutable = [k for k, v in space.values.items() if _can_change(v)]
        if not mutable:
            return self.sample(space, _RandomSuggester(rng), space.label)
        key = rng.choice(mutable)
        child = dict(config)
        child[key] = mutate_value(space.values[key], config.get(key), rng)
        return child

    def label(self, config: Mapping[str, Any], expression: str | None = None) -> str:
        """A short name for a config in tables: ``family(setting=value, ...)``."""
        args = [
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in config.items()
            if k != "family"
        ]
        return f"{self.name}({', '.join(args)})"

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


def _can_change(v: Any) -> bool:
    if isinstance(v, Choice):
        return len(v.options) > 1
    return isinstance(v, Range) and v.high > v.low


def mutate_value(v: Any, current: Any, rng: random.Random) -> Any:
    """A value of the domain ``v`` near ``current`` (see :meth:`BaseFamily.mutate`)."""
    if isinstance(v, Choice):
        others = [o for o in v.options if o != current] or list(v.options)
        return rng.choice(others)
    if not isinstance(v, Range):
        return v
    if not isinstance(current, (int, float)) or isinstance(current, bool):
        current = (v.low + v.high) / 2
    if v.log:
        lo, hi, x = math.log(v.low), math.log(v.high), math.log(max(current, v.low))
        value = math.exp(min(hi, max(lo, rng.gauss(x, (hi - lo) / 5))))
    else:
        value = min(v.high, max(v.low, rng.gauss(float(current), (v.high - v.low) / 5)))
    if v.step:
        value = v.low + round((value - v.low) / v.step) * v.step
    if v.integer:
        value = round(value)
        if value == current:  # a step of at least one, inside the range
            step = int(v.step or 1)
            near = [c for c in (value - step, value + step) if v.low <= c <= v.high]
            value = rng.choice(near) if near else value
    return value


class _RandomSuggester:
    """A :class:`~afsearch.domains.Suggester` that draws uniformly (log-uniformly) at random."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def suggest_float(self, name, low, high, *, log=False, step=None):
        if log:
            value = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        else:
            value = self.rng.uniform(low, high)
        return low + round((value - low) / step) * step if step else value

    def suggest_int(self, name, low, high, *, log=False, step=1):
        return self.rng.randrange(low, high + 1, step)

    def suggest_categorical(self, name, choices):
        return self.rng.choice(list(choices))


def random_suggester(rng: random.Random) -> Suggester:
    """Draws for :meth:`BaseFamily.sample` from ``rng`` instead of an Optuna trial."""
    return _RandomSuggester(rng)


def mutate_family(
    config: Mapping[str, Any],
    space: FamilySpace,
    rng: random.Random,
    weights: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """A config near ``config`` in ``space``, mutated by its family; ``weights`` weigh the kinds
    of change to a grammar tree, also one inside an ensemble."""
    return get_family(space.family).mutate(config, space, rng, weights)


def kind_of(config: Mapping[str, Any]) -> str:
    """The :attr:`BaseFamily.kind` of an activation config's family (``per_site`` for a config
    per site, ``-`` for an unknown family)."""
    family = str(config.get("family"))
    if family == "per_site":
        return "per_site"
    found = _FAMILIES.get(family)
    return found.kind if found is not None else "-"


def parse_family_space(entry: Any, where: Where) -> FamilySpace:
    """The sub-space of one ``families`` entry, read by its family."""
    if not isinstance(entry, Mapping) or "family" not in entry:
        raise where.error(f"must be a mapping with a 'family' key, got {show(entry)}.")
    try:
        family = get_family(str(entry["family"]))
    except AfsearchError as exc:
        raise where.at("family").error(str(exc)) from None
    return family.parse_space(entry, where)


def sample_family(space: FamilySpace, trial: Suggester, prefix: str) -> dict[str, Any]:
    """One config of ``space``, drawn by its family through ``trial``."""
    return get_family(space.family).sample(space, trial, prefix)


def family_grid(space: FamilySpace) -> Iterator[dict[str, Any]]:
    """Every config of ``space``, enumerated by its family."""
    return get_family(space.family).grid(space)


def label(config: Mapping[str, Any], expression: str | None = None, width: int = 48) -> str:
    """A short name for an activation config, by its family (``-`` for an unknown one)."""
    if config.get("family") == "per_site" and isinstance(config.get("sites"), list):
        sites = [label(c, width=1000) for c in config["sites"] if isinstance(c, Mapping)]
        return shorten("sites[" + "; ".join(sites) + "]", width)
    family = _FAMILIES.get(str(config.get("family")))
    text = family.label(config, expression) if family else str(config.get("family", "-"))
    return shorten(text, width)


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
