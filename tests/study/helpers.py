"""What the study tests share: writing study files, reading stores, and study files with one
mistake each (used by the schema tests here and the CLI tests in ``tests/cli``)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

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


GOOD = {
    "study": "bad-cases",
    "model": {"generator": "forecast", "params": {"horizon": 2}},
    "sweep": {"grid": {"accuracy": [0.5, 1.0]}},
    "seeds": 2,
    "compute": {"solve": {"method": "exact"}},
}


def with_value(path: tuple, value: Any) -> dict:
    """GOOD with ``value`` at ``path``."""
    data = copy.deepcopy(GOOD)
    target = data
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
    return data


BAD = [
    (with_value(("colour",), "red"), "colour", "unknown key"),
    (with_value(("sweep", "grid", "accuracy"), [0.5, 1.5]), "sweep.grid.accuracy[1]", "less than"),
    (with_value(("sweep", "grid", "accuracy"), [0.5, 0.5]), "sweep.grid.accuracy[1]", "repeats"),
    (with_value(("sweep", "grid", "colour"), [1, 2]), "sweep.grid.colour", "unknown parameter"),
    (with_value(("sweep", "grid", "horizon"), [1, 2]), "sweep.grid.horizon", "also fixed"),
    (with_value(("sweep", "grid", "simulate.draws"), [1]), "sweep.grid.simulate.draws", "not part"),
    (with_value(("model", "params", "buyers"), 0), "model.params.buyers", "greater than"),
    (with_value(("model", "generator"), "nonsense"), "model.generator", "unknown generator"),
    (with_value(("compute",), {"intermediation": {}}), "compute.intermediation", "intermediation"),
    (with_value(("compute",), {}), "compute", "at least one"),
    (with_value(("compute", "solve", "method"), "magic"), "compute.solve.method", "exact"),
    (with_value(("compute", "solve", "target_gap"), 0.1), "compute.solve", "method: market"),
    (with_value(("metrics",), ["solve.welfare", "nothing.*"]), "metrics[1]", "matches no metric"),
    (with_value(("seeds",), [1, 2, 1]), "seeds[2]", "repeats"),
    (with_value(("seeds",), 0), "seeds", "greater than"),
    (with_value(("study",), "has space"), "study", "pattern"),
    (
        with_value(("sweep", "random"), {"samples": 3, "params": {"spread": {"uniform": [5, 1]}}}),
        "sweep.random.params.spread.uniform",
        "low <= high",
    ),
    (
        with_value(("sweep", "random"), {"samples": 3, "params": {"spread": {"uniform": [-5, 1]}}}),
        "sweep.random.params.spread.uniform[0]",
        "greater than or equal",
    ),
    (
        with_value(("sweep", "random"), {"samples": 2, "params": {"spread": {}}}),
        "sweep.random.params.spread",
        "exactly one",
    ),
    (
        with_value(("sweep", "random"), {"samples": 2, "params": {"accuracy": {"choice": [1]}}}),
        "sweep.random.params.accuracy",
        "also swept",
    ),
]
