"""Tradable time-specific permits: the model, the exact problem, prices and the optimality check."""

from treemarket.ttp.exact import expected_welfare, solve_exact
from treemarket.ttp.mechanism import dynamic_pivot, vcg
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
    "dynamic_pivot",
    "expected_welfare",
    "solve",
    "solve_exact",
    "vcg",
]


AUTO_EXACT_LIMIT = 300_000  # buyers (or types) × nodes up to which ``auto`` solves exactly


def solve(model: TTPModel, method: str = "auto", **options) -> TTPSolution:
    """Solve the TTP assignment problem.

    ``method``: ``exact`` ([P0] by LP/MIP, proven optimal), ``market`` (the Lagrangian market
    solver with a certified gap; options ``target_gap``, ``time_limit``, ``max_iterations``) or
    ``auto`` (exact up to :data:`AUTO_EXACT_LIMIT` variables, market beyond).
    """
    if method == "auto":
        small = model.values.size <= AUTO_EXACT_LIMIT
        method = "exact" if small or model.carry_over else "market"
    if method == "exact":
        return solve_exact(model, **options)
    if method == "market":
        from treemarket.ttp.market_solver import MarketOptions, solve_market

        progress = options.pop("progress", None)
        for key in ("formulation", "price_ranges", "solver"):
            options.pop(key, None)
        return solve_market(model, MarketOptions(**options), progress=progress)
    raise ValueError(f"unknown method {method!r}; choose exact, market or auto")
