"""Run the archive modules' docstring examples (pytest collects doctests only in
detectors/ and alerts/)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["records", "layout", "writer"])
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"pipeline.archive.{module}"))
    assert result.attempted > 0 and result.failed == 0
