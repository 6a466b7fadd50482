"""The market-based (Lagrangian) solver: price the supply, let buyers best-respond, repeat.

Prices p(n) per node act as the multipliers of the supply constraints of [P1]; buyers answer
with their optimal stopping rules (:mod:`~treemarket.ttp.market.oracle`), the prices move like
a tâtonnement (:mod:`~treemarket.ttp.market.steps`), and the sequential markets at the current
prices give a feasible assignment (:mod:`~treemarket.ttp.market.clearing`). The buyers may be
split into blocks (:mod:`~treemarket.ttp.market.block`) reached through a transport
(:mod:`~treemarket.ttp.market.transport`; Dask and MPI in :mod:`treemarket.distributed`); one
loop (:mod:`~treemarket.ttp.market.coordinator`) drives them all, and :func:`solve_market` is
the case of one block in this process. Every answer carries its certificate: the welfare of
the feasible assignment, the dual bound L(p) ≥ [P1] ≥ [P0] and their relative gap.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from treemarket.fact import Fact
from treemarket.ttp.market.block import BlockSpec, MarketBlock, Purchases, model_blocks
from treemarket.ttp.market.clearing import clear, myopic_price
from treemarket.ttp.market.coordinator import MarketResult, Progress, solve_blocks
from treemarket.ttp.market.options import MarketOptions
from treemarket.ttp.market.oracle import DualOracle, dual_value, lagrangian_bound, supply_value
from treemarket.ttp.market.restricted import restricted_assignment
from treemarket.ttp.market.steps import PriceSteps, SmoothSteps, relative_gap
from treemarket.ttp.market.transport import SerialTransport, Transport
from treemarket.ttp.model import TTPModel, expected_welfare
from treemarket.ttp.prices import PriceSystem
from treemarket.ttp.result import TTPSolution

__all__ = [
    "BlockSpec",
    "DualOracle",
    "MarketBlock",
    "MarketOptions",
    "MarketResult",
    "PriceSteps",
    "Purchases",
    "SerialTransport",
    "SmoothSteps",
    "Transport",
    "clear",
    "dual_value",
    "lagrangian_bound",
    "model_blocks",
    "myopic_price",
    "solve_blocks",
    "solve_market",
    "supply_value",
]


def solve_market(
    model: TTPModel,
    options: MarketOptions | None = None,
    progress: Progress | None = None,
    **fields: Any,
) -> TTPSolution:
    """Solve [P0] approximately with a certified gap by the market (Lagrangian) method.

    ``fields`` change the ``options`` (``solve_market(m, target_gap=1e-4)``); an unknown field
    is a ``TypeError``.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> sol = solve_market(weather())
    >>> sol.welfare, sol.gap <= 1e-3, sol.supported
    (12.0, True, Fact.UNKNOWN)
    """
    opts = replace(options or MarketOptions(), **fields)
    transport = SerialTransport(model_blocks(model))
    try:
        result = solve_blocks(transport, opts, progress)
        (block,) = transport.blocks
        assert block.stopping_value is not None
        y = block.purchases().dense(model)
        option_value = block.stopping_value.T
    finally:
        transport.close()
    welfare, timings = result.welfare, {"market": result.seconds}
    stats: dict[str, Any] = {
        "iterations": result.iterations,
        "theta": result.theta,
        "float32": result.float32,
    }
    left = opts.time_limit - result.seconds
    if opts.restrict and result.gap > opts.target_gap and left > 0:
        start = time.perf_counter()
        width = opts.restrict_width * result.price_scale
        found, pairs = restricted_assignment(
            model, result.price, y, width, left, opts.target_gap / 4, opts.restrict_pairs
        )
        timings["restricted"] = time.perf_counter() - start
        if found is not None and expected_welfare(model, found) > welfare:
            y, welfare = found, expected_welfare(model, found)
        stats["restricted_pairs"] = pairs
        stats["restricted_welfare"] = None if found is None else expected_welfare(model, found)
    return TTPSolution(
        model=model,
        y=y,
        welfare=welfare,
        upper_bound=result.dual_bound,
        gap=relative_gap(result.dual_bound, welfare),
        lp_integral=Fact.UNKNOWN,
        supported=Fact.UNKNOWN,
        prices=PriceSystem(price=result.price, option_value=option_value),
        dual_bound=result.dual_bound,
        target_gap=opts.target_gap,
        method="market",
        formulation="lagrangian",
        timings=timings,
        stats=stats,
        notes=[
            "market solver: the bound is its best Lagrangian dual bound (an upper bound on the "
            "LP optimum); the prices are the ones that gave it, not a certified equilibrium"
        ],
    )
