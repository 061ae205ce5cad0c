"""Configs that exercise every registered family and every option worth a separate test."""

from __future__ import annotations

from typing import Any

from afsearch.activations import BASES, BINARY, UNARY, list_families


def family_configs() -> list[tuple[str, dict[str, Any]]]:
    """The default config of every registered family, plus variants of structural options."""
    configs: list[tuple[str, dict[str, Any]]] = []
    for fam in list_families():
        configs.append((fam.name, {"family": fam.name}))
        configs.append((f"{fam.name}-trainable", {"family": fam.name, "trainable": True}))
    for basis in BASES:
        for normalize in ("scale", "none", "tanh"):
            configs.append(
                (
                    f"slaf-{basis}-{normalize}",
                    {
                        "family": "slaf",
                        "basis": basis,
                        "degree": 5,
                        "normalize": normalize,
                        "init": "gelu",
                    },
                )
            )
    configs.append(("slaf-relu-mix", {"family": "slaf", "relu_mix": 1.0, "init": "silu"}))
    configs.append(
        (
            "ensemble-softmax",
            {
                "family": "ensemble",
                "normalize": "softmax",
                "members": [
                    {"family": "elu"},
                    {"family": "standard", "name": "tanh"},
                    {"family": "slaf", "degree": 3},
                ],
            },
        )
    )
    configs.append(("rational-gelu", {"family": "rational", "m": 3, "n": 2, "init": "gelu"}))
    configs.append(("taaf-tanh", {"family": "taaf", "base": "tanh"}))
    configs.append(("lslu-series", {"family": "lslu", "bases": ["relu", "silu"]}))
    configs.append(("apl-4", {"family": "apl", "hinges": 4}))
    for u in UNARY:
        configs.append(
            (
                f"grammar-unary-{u}",
                {
                    "family": "grammar",
                    "trainable": True,
                    "unit": {"binary": "add", "left": u, "right": "x"},
                },
            )
        )
    for b in BINARY:
        configs.append(
            (
                f"grammar-binary-{b}",
                {
                    "family": "grammar",
                    "trainable": True,
                    "unit": {"binary": b, "left": "tanh", "right": "x"},
                },
            )
        )
    configs.append(
        (
            "grammar-nested",
            {
                "family": "grammar",
                "unit": {
                    "binary": "mul",
                    "left": "x",
                    "right": {
                        "unary": "sigmoid",
                        "of": {"binary": "add", "left": "scale", "right": "sin"},
                    },
                },
            },
        )
    )
    return configs


CONFIGS = family_configs()
