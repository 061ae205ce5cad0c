"""Core units b(u1(x), u2(x)) of Ramachandran, Zoph & Le 2017 ("Searching for Activation
Functions", arXiv:1710.05941), nestable."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sympy

from afsearch.activations._registry import BaseFamily, register_family
from afsearch.domains import (
    Choice,
    FamilySpace,
    Range,
    Suggester,
    Where,
    parse_value,
    show,
    suggest,
)
from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import Param, X, sigmoid, softplus, symbol

EPS = sympy.Float(1e-6)
MAX_DEPTH = 4
#: The kinds of change :meth:`Grammar.mutate` makes, which ``sampler_options.mutations`` of
#: ``sampler: evolution`` weighs.
MUTATIONS = ("binary", "unary", "insert", "remove", "replace")

# Each entry takes the input u and a function that creates a fresh beta parameter.
UNARY: dict[str, Callable[[Any, Callable[[], Any]], Any]] = {
    "x": lambda u, b: u,
    "neg": lambda u, b: -u,
    "abs": lambda u, b: sympy.Abs(u),
    "square": lambda u, b: u**2,
    "cube": lambda u, b: u**3,
    # sqrt(|u| + eps): the paper's sqrt(x) is undefined for x < 0 and has an infinite slope at 0.
    "sqrt": lambda u, b: sympy.sqrt(sympy.Abs(u) + EPS),
    "scale": lambda u, b: b() * u,
    "shift": lambda u, b: u + b(),
    "log": lambda u, b: sympy.log(sympy.Abs(u) + EPS),
    "exp": lambda u, b: sympy.exp(u),
    "sin": lambda u, b: sympy.sin(u),
    "cos": lambda u, b: sympy.cos(u),
    "sinh": lambda u, b: sympy.sinh(u),
    "cosh": lambda u, b: sympy.cosh(u),
    "tanh": lambda u, b: sympy.tanh(u),
    "asinh": lambda u, b: sympy.asinh(u),
    "atan": lambda u, b: sympy.atan(u),
    "sinc": lambda u, b: sympy.sinc(u),
    "relu": lambda u, b: sympy.Max(u, 0),
    "min0": lambda u, b: sympy.Min(u, 0),
    "sigmoid": lambda u, b: sigmoid(u),
    "softplus": lambda u, b: softplus(u),
    "gauss": lambda u, b: sympy.exp(-(u**2)),
    "erf": lambda u, b: sympy.erf(u),
    "const": lambda u, b: b(),
}

BINARY: dict[str, Callable[[Any, Any, Callable[[], Any]], Any]] = {
    "add": lambda p, q, b: p + q,
    "mul": lambda p, q, b: p * q,
    "sub": lambda p, q, b: p - q,
    "div": lambda p, q, b: p / (q + EPS),
    "max": lambda p, q, b: sympy.Max(p, q),
    "min": lambda p, q, b: sympy.Min(p, q),
    "sigmoid_mul": lambda p, q, b: sigmoid(p) * q,
    "gauss_diff": lambda p, q, b: sympy.exp(-b() * (p - q) ** 2),
    "laplace_diff": lambda p, q, b: sympy.exp(-b() * sympy.Abs(p - q)),
    "interp": lambda p, q, b: (lambda beta: beta * p + (1 - beta) * q)(b()),
}


@register_family
class Grammar(BaseFamily):
    """b(u1(x), u2(x)) with unary and binary operators from Ramachandran et al. 2017.

    ``unit`` is ``{binary: B, left: OPERAND, right: OPERAND}``; an operand is a unary name
    (applied to x) or ``{unary: NAME, of: UNIT}`` (applied to a nested unit), up to 4 levels.
    Every beta in the chosen operators becomes its own parameter ``beta<i>`` starting at
    ``beta_init``; betas train when ``trainable`` is true. Where the paper's operators are
    singular afsearch adds eps = 1e-6: log(|x| + eps), sqrt(|x| + eps), x1 / (x2 + eps).

    With ``leaf_scalars: true`` every unary operand u(v) becomes ``a<i>*u(b<i>*v)`` (PANGAEA,
    Bingham & Miikkulainen 2022): two scalars per operand, starting at 1 (so the function at
    initialisation is the one without them) and always trained, as activation parameters (the
    optimizer group of their own).

    >>> from afsearch.activations import build
    >>> unit = {"binary": "mul", "left": "x", "right": "sigmoid"}
    >>> build({"family": "grammar", "unit": unit}).text
    'x*sigmoid(x)'
    """

    name = "grammar"
    kind = "grammar"
    formula = "b(u1(x), u2(x)), nestable"
    citation = "Ramachandran, Zoph & Le 2017, arXiv:1710.05941"
    options = {
        "unit": {"binary": "mul", "left": "x", "right": "sigmoid"},
        "beta_init": 1.0,
        "leaf_scalars": False,
    }

    def expression(self, params, options, trainable):
        beta_init = options["beta_init"]
        if isinstance(beta_init, bool) or not isinstance(beta_init, (int, float)):
            raise AfsearchError(
                f"'beta_init' of family 'grammar' must be a number, got {beta_init!r}."
            )
        leaf_scalars = options["leaf_scalars"]
        if not isinstance(leaf_scalars, bool):
            raise AfsearchError(
                f"'leaf_scalars' of family 'grammar' must be true or false, got {leaf_scalars!r}."
            )
        train = trainable.get("*", False)
        extra: dict[str, Param] = {}
        n_betas = [0]

        def new_beta() -> Any:
            name = f"beta{n_betas[0]}"
            n_betas[0] += 1
            extra[name] = Param(float(beta_init), train)
            return symbol(name)

        scale = None
        if leaf_scalars:

            def scale(u: Callable[[Any], Any], v: Any) -> Any:
                i = sum(1 for k in extra if k.startswith("a"))
                extra[f"a{i}"] = Param(1.0, True)
                extra[f"b{i}"] = Param(1.0, True)
                return symbol(f"a{i}") * u(symbol(f"b{i}") * v)

        return _unit(options["unit"], new_beta, 1, scale), extra

    # A grammar sub-space is ``depth`` (of nested units) and the ``unary`` and ``binary``
    # operators its units are drawn from, instead of one unit.

    def parse_space(self, entry: Mapping[str, Any], where: Where) -> FamilySpace:
        values: dict[str, Any] = {}
        for key, raw in entry.items():
            if key in ("family", "label"):
                continue
            if key in ("unary", "binary"):
                pool = UNARY if key == "unary" else BINARY
                ops = raw if isinstance(raw, list) else [raw]
                for op in ops:
                    if op not in pool:
                        raise where.at(key).error(
                            f"unknown operator {show(op)}; valid ones are {choices(pool)}."
                        )
                values[key] = tuple(ops)
            else:
                values[key] = parse_value(where.at(key), raw)
        values.setdefault("unary", tuple(UNARY))
        values.setdefault("binary", tuple(BINARY))
        values.setdefault("depth", 1)
        return FamilySpace(str(entry.get("label", self.name)), self.name, values)

    def sample(self, space: FamilySpace, trial: Suggester, prefix: str) -> dict[str, Any]:
        depth = int(suggest(trial, f"{prefix}.depth", space.values["depth"]))
        unary, binary = list(space.values["unary"]), list(space.values["binary"])

        def unit(level: int, path: str) -> dict[str, Any]:
            spec: dict[str, Any] = {"binary": trial.suggest_categorical(f"{path}.b", binary)}
            for side in ("left", "right"):
                op = trial.suggest_categorical(f"{path}.{side}", unary)
                if level < depth and side == "left":
                    spec[side] = {"unary": op, "of": unit(level + 1, f"{path}.in")}
                else:
                    spec[side] = op
            return spec

        config = {"family": self.name, "unit": unit(1, prefix)}
        for key in ("beta_init", "trainable", "leaf_scalars", "per_channel"):
            if key in space.values:
                config[key] = suggest(trial, f"{prefix}.{key}", space.values[key])
        return config

    def grid(self, space: FamilySpace) -> Iterator[dict[str, Any]]:
        raise AfsearchError(_NO_GRID.format(family=self.name))

    def label(self, config: Mapping[str, Any], expression: str | None = None) -> str:
        return expression or self.name

    def mutate(
        self,
        config: Mapping[str, Any],
        space: FamilySpace,
        rng: random.Random,
        weights: Mapping[str, float] | None = None,
    ) -> dict[str, Any]:
        """One change to the tree of units (Bingham et al. 2020, PANGAEA): another binary or
        unary operator, a node inserted (a leaf becomes a unit of its own) or removed (a
        subtree becomes a leaf), a subtree replaced by a fresh one; either operand of a binary
        node may hold a subtree. The depth stays within the sub-space's largest ``depth``.
        ``weights`` weigh the kinds of change (:data:`MUTATIONS`; equal by default); a kind
        the tree allows no change of is left out."""
        unary, binary = list(space.values["unary"]), list(space.values["binary"])
        limit = min(MAX_DEPTH, _largest(space.values["depth"]))
        unit = copy.deepcopy(dict(config.get("unit") or self.options["unit"]))
        units, slots = _nodes(unit)
        moves = ["binary", "unary", "replace"]
        if any(level < limit and not _has_subtree(h[side]) for h, side, level in slots):
            moves.append("insert")
        if any(_has_subtree(h[side]) for h, side, _ in slots):
            moves.append("remove")
        w = [float((weights or {}).get(m, 1.0)) for m in moves]
        if sum(w) <= 0:  # every kind this tree allows weighs nothing: change an operator
            moves, w = ["binary", "unary"], [1.0, 1.0]
        move = rng.choices(moves, weights=w)[0]
        if move == "binary":
            node, _ = rng.choice(units)
            node["binary"] = _other(rng, binary, node["binary"])
        elif move == "unary":
            holder, side, _ = rng.choice(slots)
            operand = holder[side]
            if isinstance(operand, str):
                holder[side] = _other(rng, unary, operand)
            else:
                operand["unary"] = _other(rng, unary, operand["unary"])
        elif move == "insert":
            leaves = [s for s in slots if s[2] < limit and not _has_subtree(s[0][s[1]])]
            holder, side, level = rng.choice(leaves)
            name = holder[side] if isinstance(holder[side], str) else holder[side]["unary"]
            holder[side] = {"unary": name, "of": _random_unit(rng, unary, binary, 1)}
        elif move == "remove":
            holder, side, _ = rng.choice([s for s in slots if _has_subtree(s[0][s[1]])])
            holder[side] = holder[side]["unary"]
        else:
            holder, side, level = rng.choice(slots)
            room = limit - level
            holder[side] = (
                {"unary": rng.choice(unary), "of": _random_unit(rng, unary, binary, room)}
                if room > 0 and rng.random() < 0.5
                else rng.choice(unary)
            )
        return {**config, "family": self.name, "unit": unit}


def _largest(depth: Any) -> int:
    if isinstance(depth, Range):
        return int(depth.high)
    if isinstance(depth, Choice):
        return int(max(depth.options))
    return int(depth)


def _has_subtree(operand: Any) -> bool:
    return isinstance(operand, dict) and "of" in operand


def _nodes(unit: dict[str, Any]) -> tuple[list[tuple[dict[str, Any], int]], list[Any]]:
    """Every unit of a tree with its level, and every operand as (holder, side, level)."""
    units: list[tuple[dict[str, Any], int]] = []
    slots: list[Any] = []

    def walk(node: dict[str, Any], level: int) -> None:
        units.append((node, level))
        for side in ("left", "right"):
            node.setdefault(side, "x")
            slots.append((node, side, level))
            operand = node[side]
            if _has_subtree(operand):
                walk(operand["of"], level + 1)

    walk(unit, 1)
    return units, slots


def _random_unit(rng: random.Random, unary: list[str], binary: list[str], room: int) -> dict:
    """A unit with random operators, nesting up to ``room`` - 1 further levels on either side."""
    unit: dict[str, Any] = {"binary": rng.choice(binary)}
    for side in ("left", "right"):
        if room > 1 and rng.random() < 0.3:
            unit[side] = {
                "unary": rng.choice(unary),
                "of": _random_unit(rng, unary, binary, room - 1),
            }
        else:
            unit[side] = rng.choice(unary)
    return unit


def _other(rng: random.Random, pool: list[str], current: str) -> str:
    others = [p for p in pool if p != current]
    return rng.choice(others) if others else current


#: Why a structural family's sub-space has no grid.
_NO_GRID = "sampler 'grid' cannot enumerate {family!r} sub-spaces; use 'random' or 'tpe' for them."


#: Wraps a unary operator and its argument: ``a*u(b*v)`` for leaf scalars.
Scale = Callable[[Callable[[Any], Any], Any], Any] | None


def _unit(spec: Any, beta: Callable[[], Any], depth: int, scale: Scale = None) -> Any:
    if depth > MAX_DEPTH:
        raise AfsearchError(f"Grammar units nest at most {MAX_DEPTH} levels deep.")
    if (
        not isinstance(spec, dict)
        or set(spec) - {"binary", "left", "right"}
        or "binary" not in spec
    ):
        raise AfsearchError(
            "A grammar unit must be a mapping {binary: NAME, left: OPERAND, right: OPERAND}, "
            f"got {spec!r}."
        )
    name = spec["binary"]
    if name not in BINARY:
        raise AfsearchError(f"Unknown binary operator {name!r}; valid ones are {choices(BINARY)}.")
    left = _operand(spec.get("left", "x"), beta, depth, scale)
    right = _operand(spec.get("right", "x"), beta, depth, scale)
    return BINARY[name](left, right, beta)


def _operand(spec: Any, beta: Callable[[], Any], depth: int, scale: Scale = None) -> Any:
    if isinstance(spec, str):
        name, arg = spec, X
    elif isinstance(spec, dict) and set(spec) <= {"unary", "of"} and "unary" in spec:
        name = spec["unary"]
        arg = _unit(spec["of"], beta, depth + 1, scale) if "of" in spec else X
    else:
        raise AfsearchError(
            f"A grammar operand must be a unary name or {{unary: NAME, of: UNIT}}, got {spec!r}."
        )
    if name not in UNARY:
        raise AfsearchError(f"Unknown unary operator {name!r}; valid ones are {choices(UNARY)}.")
    if scale is not None:
        return scale(lambda v: UNARY[name](v, beta), arg)
    return UNARY[name](arg, beta)
