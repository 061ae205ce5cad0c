"""Ensembles: weighted combinations of member activations from any family."""

from __future__ import annotations

import sympy

from afsearch.activations._registry import BaseFamily, build, register_family
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
