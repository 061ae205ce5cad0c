"""Ensembles: weighted combinations of member activations from any family."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Any

import sympy

from afsearch.activations._grammar import _NO_GRID
from afsearch.activations._registry import (
    BaseFamily,
    build,
    label,
    mutate_family,
    parse_family_space,
    random_suggester,
    register_family,
    sample_family,
)
from afsearch.domains import FamilySpace, Suggester, Where, parse_value, suggest
from afsearch.exceptions import AfsearchError
from afsearch.expr import Param, symbol

MAX_MEMBERS = 8


@register_family
class Ensemble(BaseFamily):
    """sum_k w_k f_k(x) over K members of any family (K = 1..8).

    Member k's parameters are renamed ``m<k>_<name>``; the mixing weights are ``w<k>``, equal
    (1/K) unless ``weights`` is given, trainable unless ``trainable`` is false. With
    ``normalize: softmax`` the weights are logits and the mix is sum_k softmax(w)_k f_k(x), a
    convex combination as in the ensemble activations of Klabjan & Harmon 2019.
    """

    name = "ensemble"
    kind = "ensemble"
    formula = "sum_k w_k * f_k(x)  (or softmax(w)_k)"
    citation = "Klabjan & Harmon 2019, arXiv:1905.07331"
    options = {
        "members": ({"family": "standard", "name": "gelu"}, {"family": "swish", "beta": 1.5}),
        "weights": None,
        "normalize": "none",
    }

    def expression(self, params, options, trainable):
        members = options["members"]
        if not isinstance(members, (list, tuple)) or not 1 <= len(members) <= MAX_MEMBERS:
            raise AfsearchError(
                f"'members' of family 'ensemble' must list 1 to {MAX_MEMBERS} member configs, "
                f"got {members!r}."
            )
        k = len(members)
        normalize = options["normalize"]
        if normalize not in ("none", "softmax"):
            raise AfsearchError(
                f"'normalize' of family 'ensemble' must be 'none' or 'softmax', got {normalize!r}."
            )
        weights = options["weights"]
        if weights is None:
            weights = [0.0] * k if normalize == "softmax" else [1.0 / k] * k
        if not isinstance(weights, (list, tuple)) or len(weights) != k:
            raise AfsearchError(
                f"'weights' of family 'ensemble' must list {k} numbers, got {weights!r}."
            )
        train = trainable.get("*", True)
        extra: dict[str, Param] = {}
        terms = []
        for i, (member, weight) in enumerate(zip(members, weights)):
            if isinstance(member, dict) and member.get("family") == "ensemble":
                raise AfsearchError("An ensemble member cannot itself be an ensemble.")
            if isinstance(member, dict) and member.get("per_channel"):
                raise AfsearchError(
                    "An ensemble member cannot set per_channel; set per_channel: true on the "
                    "ensemble itself, which makes every trainable parameter of it per-channel."
                )
            cand = build(member)
            rename = {symbol(n): symbol(f"m{i}_{n}") for n in cand.params}
            extra |= {f"m{i}_{n}": p for n, p in cand.params.items()}
            extra[f"w{i}"] = Param(weight, train)
            terms.append(cand.expr.xreplace(rename))
        w = [symbol(f"w{i}") for i in range(k)]
        if normalize == "softmax":
            total = sympy.Add(*[sympy.exp(wi) for wi in w])
            return sympy.Add(*[sympy.exp(wi) / total * t for wi, t in zip(w, terms)]), extra
        return sympy.Add(*[wi * t for wi, t in zip(w, terms)]), extra

    # An ensemble sub-space is a ``size`` (member count) and the member sub-spaces each member
    # is drawn from, instead of fixed members.

    def parse_space(self, entry: Mapping[str, Any], where: Where) -> FamilySpace:
        values: dict[str, Any] = {}
        members: list[FamilySpace] = []
        for key, raw in entry.items():
            if key in ("family", "label"):
                continue
            if key == "members":
                if not isinstance(raw, list) or not raw:
                    raise where.at(key).error("must list member sub-spaces to pick from.")
                members = [
                    parse_family_space(m, where.at(key).at(f"[{i}]")) for i, m in enumerate(raw)
                ]
                if any(m.family == self.name for m in members):
                    raise where.at(key).error("an ensemble member cannot itself be an ensemble.")
                continue
            values[key] = parse_value(where.at(key), raw)
        values.setdefault("size", 2)
        if not members:
            raise where.at("members").error(
                "an ensemble sub-space must list member sub-spaces to pick from."
            )
        return FamilySpace(str(entry.get("label", self.name)), self.name, values, members)

    def sample(self, space: FamilySpace, trial: Suggester, prefix: str) -> dict[str, Any]:
        config: dict[str, Any] = {"family": self.name}
        for key, v in space.values.items():
            if key != "size":
                config[key] = suggest(trial, f"{prefix}.{key}", v)
        size = int(suggest(trial, f"{prefix}.size", space.values["size"]))
        labels = [m.label for m in space.members]
        members = []
        for k in range(size):
            pick = trial.suggest_categorical(f"{prefix}.m{k}", labels)
            member = space.members[labels.index(pick)]
            members.append(sample_family(member, trial, f"{prefix}.m{k}.{pick}"))
        config["members"] = members
        return config

    def grid(self, space: FamilySpace) -> Iterator[dict[str, Any]]:
        raise AfsearchError(_NO_GRID.format(family=self.name))

    def mutate(
        self,
        config: Mapping[str, Any],
        space: FamilySpace,
        rng: random.Random,
        weights: Mapping[str, float] | None = None,
    ) -> dict[str, Any]:
        """One member mutated by its own family (with ``weights``, as a grammar member's tree
        changes), or replaced by a fresh draw from the member sub-spaces; the member count and
        other settings change as values of the sub-space."""
        members = [dict(m) for m in config.get("members", [])]
        if not members:
            return self.sample(space, random_suggester(rng), space.label)
        k = rng.randrange(len(members))
        by_family = {m.family: m for m in space.members}
        member_space = by_family.get(str(members[k].get("family")))
        if member_space is not None and rng.random() < 0.7:
            members[k] = mutate_family(members[k], member_space, rng, weights)
        else:
            pick = rng.choice(space.members)
            members[k] = sample_family(pick, random_suggester(rng), pick.label)
        return {**config, "members": members}

    def label(self, config: Mapping[str, Any], expression: str | None = None) -> str:
        members = [label(m, width=1000) for m in config.get("members", [])]
        return "ensemble[" + ", ".join(members) + "]"
