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

from treemarket.errors import ModelError, SolverError, TreemarketError
from treemarket.io.ttp_file import load_ttp
from treemarket.scenario import ScenarioTree
from treemarket.ttp import TTPModel, TTPSolution, check_optimality, solve

__version__ = "0.1.0"

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
