"""Tradable time-specific permits: the model, the exact and the market solvers, prices and the
optimality check."""

from treemarket.ttp.dispatch import AUTO_EXACT_LIMIT, auto_method, solve
from treemarket.ttp.exact import ExactOptions, expected_welfare, solve_exact
from treemarket.ttp.market import MarketOptions, solve_market
from treemarket.ttp.mechanism import dynamic_pivot, vcg
from treemarket.ttp.model import TTPModel
from treemarket.ttp.optimality import OptimalityReport, check_optimality
from treemarket.ttp.prices import PriceRanges, PriceSystem, SupportLP
from treemarket.ttp.result import TTPSolution

__all__ = [
    "AUTO_EXACT_LIMIT",
    "ExactOptions",
    "MarketOptions",
    "OptimalityReport",
    "PriceRanges",
    "PriceSystem",
    "SupportLP",
    "TTPModel",
    "TTPSolution",
    "auto_method",
    "check_optimality",
    "dynamic_pivot",
    "expected_welfare",
    "solve",
    "solve_exact",
    "solve_market",
    "vcg",
]
