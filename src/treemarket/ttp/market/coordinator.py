"""The market solver's loop: price the supply, let the blocks best-respond, repeat.

Each iteration sends the prices (one number per node) to every block and adds up their parts
of the dual value L(p) and of the demand per node; prices move by :class:`PriceSteps`. Every
``repair_every`` iterations the sequential markets run level by level for a feasible
assignment: each block proposes its candidates for the markets of a level and every market is
cleared by the one rule :func:`~treemarket.ttp.market.clearing.clear`. The blocks' parts are
always added in block order, so every transport gives the same numbers for the same blocks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from treemarket.scenario import ScenarioTree
from treemarket.solvers.base import Progress
from treemarket.ttp.market.clearing import clear, myopic_price
from treemarket.ttp.market.options import MarketOptions
from treemarket.ttp.market.oracle import prices_of, supply_value
from treemarket.ttp.market.steps import PriceSteps, SmoothSteps, relative_gap
from treemarket.ttp.market.transport import Transport

FloatArray = NDArray[np.float64]


@dataclass
class MarketResult:
    """The certificate of the market solver: the best feasible welfare, the dual bound
    L(p) ≥ [P1] ≥ [P0] at the best prices (recomputed in float64), their relative gap."""

    welfare: float
    dual_bound: float
    gap: float
    iterations: int
    price: FloatArray
    blocks: int
    transport: str
    seconds: float
    float32: bool = False
    theta: float = 0.0
    price_scale: float = 1.0  # the mean myopic price E[μ p] / E[μ]
    history: list[tuple[int, float, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "welfare": self.welfare,
            "upper_bound": self.dual_bound,
            "gap": self.gap,
            "iterations": self.iterations,
            "blocks": self.blocks,
            "transport": self.transport,
            "seconds": self.seconds,
        }


def solve_blocks(
    transport: Transport, options: MarketOptions | None = None, progress: Progress | None = None
) -> MarketResult:
    """Run the market solver over the transport's blocks (see the module's description).

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> from treemarket.ttp.market import SerialTransport, model_blocks
    >>> res = solve_blocks(SerialTransport(model_blocks(weather(), 2)))
    >>> res.welfare, res.gap <= 1e-3
    (12.0, True)
    """
    opts = options or MarketOptions()
    start = time.perf_counter()
    infos = transport.call("prepare", opts.float32, opts.threads)
    tree, node_supply = infos[0]["tree"], infos[0]["supply"]
    carry_over = bool(infos[0]["carry_over"])
    scale = max(1.0, max(info["scale"] for info in infos))
    supply = node_supply.astype(np.float64)
    prob = tree.prob
    first = initial_prices(transport, node_supply)
    price_scale = _price_scale(prob, supply, first, scale)
    if carry_over:  # the stock constraints' multipliers: λ(n) = p(n) − E[p(children) | n] ≥ 0
        first = np.maximum(first - _children_mean(tree, first), 0.0)
    smooth = opts.dual == "smooth"
    if opts.dual not in ("smooth", "subgradient"):
        raise ValueError(f"unknown dual method {opts.dual!r}: 'smooth' or 'subgradient'")
    steps: PriceSteps | SmoothSteps = (
        SmoothSteps(opts, prob, infos[0]["open"], first, price_scale)
        if smooth
        else PriceSteps(opts, prob, infos[0]["open"], first)
    )
    iterations = 0
    history: list[tuple[int, float, float]] = []
    for iterations in range(1, opts.max_iterations + 1):
        price = prices_of(tree, steps.multiplier, carry_over)
        repair = iterations % opts.repair_every == 1 or opts.repair_every == 1
        buyers, smoothed, demand = 0.0, 0.0, np.zeros(supply.shape)
        if isinstance(steps, SmoothSteps):
            for soft_value, value, block_demand in transport.call(
                "smooth", price, steps.tau, repair
            ):
                smoothed += soft_value
                buyers += value
                demand += block_demand
        else:
            for value, block_demand in transport.call("evaluate", price, repair):
                buyers += value
                demand += block_demand
        upper = buyers + supply_value(prob, node_supply, price)
        if repair:
            runs = [(1e-3 * scale, False), (1e-2 * scale, False)]
            if smooth and opts.soft_repair:
                runs.append((0.0, True))
            for slack, soft in runs:
                welfare = run_markets(
                    transport, price, slack, tree, node_supply, carry_over, soft=soft
                )
                if steps.offer(welfare):
                    transport.call("keep")
        steps.observe(upper)
        history.append((iterations, steps.best_upper, steps.best_lower))
        if progress is not None:
            progress(iterations, steps.best_upper, steps.best_lower, steps.gap)
        if steps.gap <= opts.target_gap or time.perf_counter() - start > opts.time_limit:
            break
        excess = supply - demand
        direction = tree.path_sum(excess) if carry_over else excess
        if isinstance(steps, SmoothSteps):
            moved = steps.step(smoothed + supply_value(prob, node_supply, price), prob * direction)
        else:
            moved = steps.step(upper, direction)
        if not moved:
            break
    # the certificate, in float64: L(p) at the best prices bounds [P1] (and so [P0]) above
    best_price = prices_of(tree, steps.best_multiplier, carry_over)
    parts = transport.call("certify", best_price, transport.n_blocks == 1)
    bound = sum(parts, 0.0) + supply_value(prob, node_supply, best_price)
    welfare = steps.best_lower
    return MarketResult(
        welfare=welfare,
        dual_bound=bound,
        gap=relative_gap(bound, welfare),
        iterations=iterations,
        price=best_price,
        blocks=transport.n_blocks,
        transport=transport.name,
        seconds=time.perf_counter() - start,
        float32=bool(infos[0]["float32"]),
        theta=steps.theta,
        price_scale=price_scale,
        history=history,
    )


def _price_scale(prob: FloatArray, supply: FloatArray, price: FloatArray, fallback: float) -> float:
    """The mean myopic price E[μ p] / E[μ] (the unit of the temperature τ), or ``fallback``
    when no supply is priced."""
    weight = prob * supply
    total = float(weight.sum())
    mean = float(weight @ price) / total if total > 0 else 0.0
    return mean if mean > 0 else fallback


def _children_mean(tree: ScenarioTree, x: FloatArray) -> FloatArray:
    """E[x(children) | n] at every node (0 at the leaves)."""
    out = np.zeros_like(x)
    out[: int(tree.level_offsets[-2])] = tree.expectation_of_children(x)
    return out


def run_markets(
    transport: Transport,
    price: FloatArray,
    slack: float,
    tree: ScenarioTree,
    node_supply: NDArray[np.int64],
    carry_over: bool = False,
    soft: bool = False,
) -> float:
    """The sequential markets at ``price`` over the blocks, level by level: at most the
    permits available at each node (μ(t), plus what the parent left unsold with carry-over),
    largest surplus over the option value first (ties: value, then buyer order; with ``soft``
    the demands and ranks of :meth:`MarketBlock.propose`'s soft run); the expected welfare of
    the purchases."""
    transport.call("open_markets", price, slack, soft)
    served: list[FloatArray | None] = [None] * transport.n_blocks
    left = np.zeros(0)
    for t in range(tree.horizon + 1):
        level = tree.level(t)
        capacity = node_supply[level].astype(np.float64)
        if carry_over and t > 0:
            capacity += left[tree.parent[level] - tree.level(t - 1).start]
        proposals = transport.call_each("propose", [(t, s, capacity) for s in served])
        node, _, demand, score, value = (
            np.concatenate([p[j] for p in proposals]) for j in range(5)
        )
        units = clear(node - level.start, demand, capacity, score, value)
        left = capacity - np.bincount(node - level.start, units, minlength=capacity.shape[0])
        cuts = np.cumsum([p[0].shape[0] for p in proposals])[:-1]
        served = list(np.split(units, cuts))
    return float(sum(transport.call_each("finish", [(s,) for s in served])))


def initial_prices(transport: Transport, node_supply: NDArray[np.int64]) -> FloatArray:
    """The myopic clearing price at every node, from the blocks' highest unit values."""
    parts = transport.call("top_units")
    values = np.concatenate([p[0] for p in parts], axis=1)
    counts = np.concatenate([p[1] for p in parts], axis=1)
    return np.where(node_supply > 0, myopic_price(values, counts, node_supply), 0.0)
