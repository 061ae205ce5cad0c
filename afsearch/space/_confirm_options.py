"""The ``confirm:`` key of a space: training the search's best again on fresh seeds.

``confirm: {top: 5, seeds: 10, against: [relu, gelu, silu, mish, elu, tanh]}`` (``true`` for these
defaults) makes ``afsearch launch`` end with a confirmation stage; see
``afsearch.confirm.confirm_study``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import KNOWN

#: The options of ``confirm:``, with their defaults.
DEFAULTS: Mapping[str, Any] = {
    "top": 5,
    "seeds": 10,
    "against": ("relu", "gelu", "silu", "mish", "elu", "tanh"),
    "split": "test",
    "lr_grid": None,
    "tuning_seeds": 2,
    "recipes": (),
}
#: The splits a confirmation can judge on.
SPLITS = ("test", "val")
#: What a recipe may set: the fields of the task's settings, and a name to show it by.
RECIPE_KEYS = ("name", "epochs", "batch_size", "lr", "weight_decay", "optimizer", "options")


@dataclass(frozen=True)
class ConfirmOptions:
    """How many of the search's best to confirm, on how many fresh seeds, against what, and
    how: the split that judges (``test``; ``val`` possible), an optional grid of learning-rate
    factors every arm picks from on the validation split over ``tuning_seeds`` seeds of its
    own, and optional extra training ``recipes`` the winners are judged under again."""

    top: int = 5
    seeds: int = 10
    against: tuple[str, ...] = ("relu", "gelu", "silu", "mish", "elu", "tanh")
    split: str = "test"
    lr_grid: tuple[float, ...] | None = None
    tuning_seeds: int = 2
    recipes: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> ConfirmOptions:
        """The options of ``confirm:`` (``true`` for the defaults), each checked."""
        if raw is True:
            raw = {}
        if not isinstance(raw, Mapping):
            raise AfsearchError(
                f"confirm must be true or a mapping of its options ({choices(DEFAULTS)}), "
                f"got {raw!r}."
            )
        unknown = sorted(str(k) for k in set(raw) - set(DEFAULTS))
        if unknown:
            raise AfsearchError(
                f"confirm has no option {unknown[0]!r}; its options are {choices(DEFAULTS)}."
            )
        merged = {**DEFAULTS, **raw}
        top, seeds = merged["top"], merged["seeds"]
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 1000:
            raise AfsearchError(f"top of confirm must be an integer from 1 to 1000, got {top!r}.")
        if isinstance(seeds, bool) or not isinstance(seeds, int) or not 2 <= seeds <= 1000:
            raise AfsearchError(
                f"seeds of confirm must be an integer from 2 to 1000 (a t-test needs two "
                f"values per side), got {seeds!r}."
            )
        against = merged["against"]
        if isinstance(against, str) or not isinstance(against, Sequence) or not against:
            raise AfsearchError(
                f"against of confirm must be a non-empty list of standard activations, "
                f"got {against!r}."
            )
        bad = [name for name in against if not isinstance(name, str) or name not in KNOWN]
        if bad:
            raise AfsearchError(
                f"against of confirm names {bad[0]!r}, which is not a standard activation; "
                f"valid names are {choices(KNOWN)}."
            )
        if len(set(against)) != len(against):
            raise AfsearchError(f"against of confirm names an activation twice: {against!r}.")
        split = merged["split"]
        if split not in SPLITS:
            raise AfsearchError(
                f"split of confirm must be one of {choices(SPLITS)}, got {split!r}."
            )
        tuning = merged["tuning_seeds"]
        if isinstance(tuning, bool) or not isinstance(tuning, int) or not 1 <= tuning <= 100:
            raise AfsearchError(
                f"tuning_seeds of confirm must be an integer from 1 to 100, got {tuning!r}."
            )
        return cls(
            top,
            seeds,
            tuple(against),
            split,
            _lr_grid(merged["lr_grid"]),
            tuning,
            _recipes(merged["recipes"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "top": self.top,
            "seeds": self.seeds,
            "against": list(self.against),
            "split": self.split,
            "lr_grid": None if self.lr_grid is None else list(self.lr_grid),
            "tuning_seeds": self.tuning_seeds,
            "recipes": [dict(r) for r in self.recipes],
        }


def _lr_grid(raw: Any) -> tuple[float, ...] | None:
    """The learning-rate factors of ``lr_grid``: positive finite numbers, each once."""
    if raw is None:
        return None
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or not raw:
        raise AfsearchError(
            f"lr_grid of confirm must be a non-empty list of factors of the task's lr, such "
            f"as [0.3, 1.0, 3.0], got {raw!r}."
        )
    for factor in raw:
        number = isinstance(factor, (int, float)) and not isinstance(factor, bool)
        if not number or not math.isfinite(factor) or factor <= 0:
            raise AfsearchError(
                f"lr_grid of confirm holds {factor!r}; every factor must be a number above 0."
            )
    if len(set(raw)) != len(raw):
        raise AfsearchError(f"lr_grid of confirm names a factor twice: {list(raw)!r}.")
    return tuple(float(f) for f in raw)


def _recipes(raw: Any) -> tuple[Mapping[str, Any], ...]:
    """The extra training recipes: mappings of task settings (and a ``name``), each checked."""
    from afsearch.tasks import TaskSettings

    if raw is None or raw == ():
        return ()
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise AfsearchError(
            f"recipes of confirm must be a list of mappings of task settings, got {raw!r}."
        )
    recipes = []
    for i, recipe in enumerate(raw):
        if not isinstance(recipe, Mapping) or not recipe:
            raise AfsearchError(
                f"recipes[{i}] of confirm must be a mapping of task settings, such as "
                f"{{optimizer: sgd, lr: 0.05}}, got {recipe!r}."
            )
        unknown = sorted(str(k) for k in set(recipe) - set(RECIPE_KEYS))
        if unknown:
            raise AfsearchError(
                f"recipes[{i}] of confirm names {unknown[0]!r}, which is not a task setting; "
                f"a recipe may set {choices(RECIPE_KEYS)}."
            )
        settings = {k: v for k, v in recipe.items() if k not in ("name", "options")}
        try:
            TaskSettings(**settings)
        except AfsearchError as exc:
            raise AfsearchError(f"recipes[{i}] of confirm: {exc}") from None
        name = recipe.get("name", ", ".join(f"{k} {v}" for k, v in settings.items()))
        recipes.append({**recipe, "name": str(name)})
    return tuple(recipes)
