"""treemarket: market design on trees.

Tradable time-specific permits under dynamic uncertainty (:mod:`treemarket.ttp`) and
intermediation trees (:mod:`treemarket.intermediation`), on array-based scenario trees
(:mod:`treemarket.scenario`).

Examples
--------
>>> from treemarket import load_ttp, solve
>>> from treemarket.examples import example_path
>>> solve(load_ttp(example_path("weather.yaml"))).welfare
12.0
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from treemarket.errors import ModelError, SolverError, TreemarketError

if TYPE_CHECKING:
    from treemarket.io.ttp_file import load_ttp
    from treemarket.scenario import ScenarioTree
    from treemarket.ttp import TTPModel, TTPSolution, check_optimality, solve

__version__ = "0.1.0"

# imported on first use, so that `import treemarket.solvers` (a solver's child process, the
# command line) does not load the file readers, SciPy's statistics and the TTP package
_LAZY = {
    "load_ttp": "treemarket.io.ttp_file",
    "ScenarioTree": "treemarket.scenario",
    "TTPModel": "treemarket.ttp",
    "TTPSolution": "treemarket.ttp",
    "check_optimality": "treemarket.ttp",
    "solve": "treemarket.ttp",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'treemarket' has no attribute {name!r}")


__all__ = [
    "ModelError",
    "ScenarioTree",
    "SolverError",
    "TTPModel",
    "TTPSolution",
    "TreemarketError",
    "__version__",
    "check_optimality",
    "load_ttp",
    "solve",
]


def __dir__() -> list[str]:
    return sorted(__all__)
