"""Fixtures of the study tests (the helpers are in ``helpers.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from . import helpers


@pytest.fixture
def small_study() -> dict[str, Any]:
    """A forecast study of 12 quick tasks."""
    return helpers.small_study()
