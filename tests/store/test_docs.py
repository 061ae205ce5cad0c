"""The examples in the store's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["_engine", "_query", "_trial_store"])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"afsearch.store.{module}"))
    assert result.attempted > 0
    assert result.failed == 0
