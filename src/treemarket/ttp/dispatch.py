"""One way to solve a TTP model: :func:`solve` dispatches to a method, decides what ``auto``
means and takes typed options per method."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from treemarket.ttp.exact import ExactOptions, solve_exact
from treemarket.ttp.market import MarketOptions, Progress, solve_market
from treemarket.ttp.model import TTPModel
from treemarket.ttp.result import TTPSolution

AUTO_EXACT_LIMIT = 300_000  # buyers (or types) × nodes up to which ``auto`` solves exactly
METHODS = ("exact", "market", "auto")


def auto_method(model: TTPModel) -> str:
    """What ``auto`` runs: ``exact`` up to :data:`AUTO_EXACT_LIMIT` buyer-node pairs,
    ``market`` beyond."""
    return "exact" if model.values.size <= AUTO_EXACT_LIMIT else "market"


def solve(
    model: TTPModel,
    method: str = "auto",
    *,
    exact: ExactOptions | None = None,
    market: MarketOptions | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> TTPSolution:
    """Solve the TTP assignment problem [P0].

    Parameters
    ----------
    model : TTPModel
    method : {"auto", "exact", "market"}
        ``exact``: [P0] by LP/MIP, proven optimal (:func:`~treemarket.ttp.exact.solve_exact`);
        ``market``: the Lagrangian market solver with a certified gap
        (:func:`~treemarket.ttp.market.solve_market`); ``auto``: :func:`auto_method`.
    exact, market : ExactOptions, MarketOptions, optional
        The options of each method (only the chosen method's are used).
    progress : callable, optional
        ``progress(step, bound, welfare, gap)``: the market solver's iterations, or the exact
        solver's warm start and branch-and-bound nodes.
    **options
        Fields of the chosen method's options, e.g. ``price_ranges=False`` or
        ``target_gap=1e-4``; with ``auto``, fields of either (the chosen method's are used).
        Any other name is a ``TypeError``.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> solve(weather(), price_ranges=False).welfare
    12.0
    >>> solve(weather(), "market", tolerance=1)
    Traceback (most recent call last):
    ...
    TypeError: unknown option 'tolerance' for method market; its options are target_gap, ...
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose exact, market or auto")
    chosen = auto_method(model) if method == "auto" else method
    exact_opts, market_opts = exact or ExactOptions(), market or MarketOptions()
    exact_names = {f.name for f in fields(ExactOptions)}
    market_names = {f.name for f in fields(MarketOptions)}
    known = {"exact": exact_names, "market": market_names}[chosen]
    if method == "auto":
        known = exact_names | market_names
    for name in options:
        if name not in known:
            names = ", ".join(
                f.name for f in fields(ExactOptions if chosen == "exact" else MarketOptions)
            )
            raise TypeError(f"unknown option {name!r} for method {method}; its options are {names}")
    if chosen == "exact":
        mine = {k: v for k, v in options.items() if k in exact_names}
        return solve_exact(model, replace(exact_opts, **mine), progress)
    mine = {k: v for k, v in options.items() if k in market_names}
    return solve_market(model, replace(market_opts, **mine), progress)
