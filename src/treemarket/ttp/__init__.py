"""Tradable time-specific permits: the model, the exact problem, prices and the optimality check."""

from treemarket.ttp.exact import expected_welfare, solve_exact
from treemarket.ttp.model import TTPModel
from treemarket.ttp.optimality import OptimalityReport, check_optimality
from treemarket.ttp.prices import PriceRanges, PriceSystem, SupportLP
from treemarket.ttp.result import TTPSolution

__all__ = [
    "OptimalityReport",
    "PriceRanges",
    "PriceSystem",
    "SupportLP",
    "TTPModel",
    "TTPSolution",
    "check_optimality",
    "expected_welfare",
    "solve",
    "solve_exact",
]


def solve(model: TTPModel, method: str = "auto", **options) -> TTPSolution:
    """Solve the TTP assignment problem. ``method``: ``exact`` or ``auto`` (exact for now)."""
    if method not in ("auto", "exact"):
        raise ValueError(f"unknown method {method!r}: the market solver is not available yet")
    return solve_exact(model, **options)
