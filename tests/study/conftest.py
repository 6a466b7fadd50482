"""Shared helpers of the study tests: writing study files and reading stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from treemarket.study.store import ResultStore


def write_study(folder: Path, data: dict[str, Any], name: str = "study.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def stored(path: Path) -> dict[str, tuple[str, Any, Any]]:
    """Key -> (status, metrics, error) of every row of a store."""
    with ResultStore(path, readonly=True) as store:
        return {r.key: (r.status, r.metrics, r.error) for r in store.results()}


@pytest.fixture
def small_study() -> dict[str, Any]:
    """A forecast study of 12 quick tasks."""
    return {
        "study": "small",
        "model": {"generator": "forecast", "params": {"horizon": 2, "supply": 1}},
        "sweep": {"grid": {"accuracy": [0.5, 1.0], "buyers": [2, 4]}},
        "seeds": 3,
        "compute": {"simulate": {"policies": ["market", "myopic"], "draws": 2}},
        "metrics": ["simulate.*.welfare"],
    }
