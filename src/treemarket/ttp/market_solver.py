"""The market-based (Lagrangian) solver: price the supply, let buyers best-respond, repeat.

For prices p ≥ 0 (per node), the Lagrangian dual of [P1] is

    L(p) = Σ_i count_i E[W_i(0)] + Σ_n P(n) μ(t(n)) p(n)  ≥  [P1]  ≥  [P0],

where W_i is buyer i's value of being in the market (her optimal stopping problem at prices p,
one vectorized backward pass for all buyers). Its subgradient at node n is
P(n) (μ(t) − D(n)), with D(n) the units demanded there by the best responses. Prices move like a
tâtonnement, preconditioned per node (steps in per-node units, so deep nodes with tiny
probability move as fast as the root), with Polyak step lengths towards the best feasible welfare.

A feasible assignment comes from running the markets at the current prices: buyers demand by
their best responses, each market serves at most μ(t) units, highest surplus over option value
first; unserved buyers stay in the market. Every answer carries its certificate: the welfare of
the feasible assignment, the best dual bound and their relative gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.equilibrium import BestResponse, best_response
from treemarket.ttp.model import TTPModel
from treemarket.ttp.prices import PriceSystem
from treemarket.ttp.result import TTPSolution


@dataclass
class MarketOptions:
    """Stopping rules and step control of the market solver."""

    target_gap: float = 1e-3
    time_limit: float = 600.0
    max_iterations: int = 2000
    step: float = 1.0  # Polyak factor θ in (0, 2)
    patience: int = 10  # iterations without a better bound before θ shrinks by 0.7
    min_step: float = 0.01
    repair_every: int = 10  # build a feasible assignment every this many iterations


@dataclass
class PriceSteps:
    """The price update shared by the serial and the distributed market solvers.

    Keeps the best dual bound (and its prices) and the best feasible welfare; steps are
    preconditioned Polyak steps in per-node units, p ← max(0, p − α (μ − D)), with
    α = θ (L(p) − best welfare) / Σ_n P(n) (μ − D(n))²; θ shrinks by 0.7 (to ``min_step``) and
    the prices return to the best ones after ``patience`` iterations without a better bound.
    """

    options: MarketOptions
    prob: NDArray[np.float64]
    open_market: NDArray[np.bool_]
    price: NDArray[np.float64]
    theta: float = 0.0
    best_upper: float = np.inf
    best_lower: float = -np.inf
    stall: int = 0

    def __post_init__(self) -> None:
        self.theta = self.options.step
        self.best_price = self.price.copy()

    @property
    def gap(self) -> float:
        return _gap(self.best_upper, self.best_lower)

    def offer(self, lower: float) -> bool:
        """A feasible welfare; True when it is the best so far."""
        if lower > self.best_lower:
            self.best_lower = lower
            return True
        return False

    def observe(self, upper: float) -> None:
        """The dual value L(p) at the current prices."""
        if upper < self.best_upper - 1e-12 * max(1.0, abs(upper)):
            self.best_upper, self.best_price, self.stall = upper, self.price.copy(), 0
            return
        self.stall += 1
        if self.stall >= self.options.patience:
            self.theta, self.stall = max(self.theta * 0.7, self.options.min_step), 0
            self.price = self.best_price.copy()

    def step(self, upper: float, excess: NDArray[np.float64]) -> bool:
        """Move the prices; False when the excess supply gives no direction."""
        direction = np.where(self.open_market, excess, 0.0)
        norm = float(np.sum(self.prob * direction**2))
        if norm <= 0:
            return False
        target = max(upper - self.best_lower, 1e-12 * max(1.0, abs(upper)))
        self.price = np.maximum(self.price - self.theta * target / norm * direction, 0.0)
        return True


def dual_value(
    model: TTPModel, price: NDArray[np.float64], br: BestResponse | None = None
) -> tuple[float, NDArray[np.float64]]:
    """L(p) and the per-node excess supply μ − D(n) of the best responses at ``p``."""
    br = best_response(model, price) if br is None else br
    tree = model.tree
    roots = tree.level(0)
    value = float(model.counts @ (br.value[:, roots] @ tree.prob[roots]))
    supply = model.node_supply.astype(np.float64)
    value += float(np.sum(tree.prob * supply * price))
    demand = br.y.sum(axis=0)  # units, one per buyer of a type, at the first optimal node
    return value, supply - demand


def run_markets(
    model: TTPModel,
    price: NDArray[np.float64],
    slack: float = 0.0,
    br: BestResponse | None = None,
) -> NDArray[np.float64]:
    """A feasible assignment: the sequential markets at ``price``, level by level.

    At each node the buyers still in the market whose surplus over the option value of waiting,
    v − p − E[W(t+1)], is at least ``−slack`` demand their remaining units (at the leaves every
    positive value demands: there is nothing to wait for); at most μ(t) units are served,
    largest surplus first (ties by value, then buyer order); the rest stay in the market.
    Near the optimal prices many buyers are nearly indifferent, so a small slack helps.
    """
    tree = model.tree
    br = best_response(model, price) if br is None else br
    values = model.values_by_node  # nodes × buyers: each level is a block of rows
    can_buy = model.can_buy_by_node
    gain = values - price[:, None] - br.option.T
    y = np.zeros(values.shape)
    remaining = np.zeros(values.shape)
    remaining[tree.level(0)] = model.counts[None, :]
    supply = model.node_supply
    for t in range(tree.horizon + 1):
        level = tree.level(t)
        if t > 0:
            par = tree.parent[level]
            remaining[level] = remaining[par] - y[par]
        v = values[level]
        wants = (v > 0) & can_buy[level]
        if t < tree.horizon:
            wants &= gain[level] >= -slack
        demand = np.where(wants, remaining[level], 0.0)
        k, b = np.nonzero(demand > 0)
        if b.size == 0:
            continue
        node = k + level.start
        score = values[node, b] if t == tree.horizon else gain[node, b]
        order = np.lexsort((b, -values[node, b], -score, node))
        b, k, node = b[order], k[order], node[order]
        d = demand[k, b]
        cum = np.cumsum(d)
        first = np.searchsorted(node, node, side="left")  # start of each node's group
        before = cum - d - (cum[first] - d[first])
        y[node, b] = np.clip(supply[node] - before, 0.0, d)
    return y.T


def solve_market(
    model: TTPModel,
    options: MarketOptions | None = None,
    progress: Callable[[int, float, float, float], None] | None = None,
) -> TTPSolution:
    """Solve [P0] approximately with a certified gap by the market (Lagrangian) method.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> sol = solve_market(weather())
    >>> sol.welfare, sol.gap <= 1e-3
    (12.0, True)
    """
    from treemarket.ttp.exact import expected_welfare

    if model.carry_over:
        raise ValueError("the market solver does not handle carry_over: use method='exact'")
    opts = options or MarketOptions()
    tree = model.tree
    scale = max(1.0, float(np.abs(model.values).max()) if model.values.size else 1.0)
    steps = PriceSteps(opts, tree.prob, model.node_supply > 0, _initial_prices(model))
    best_y = np.zeros(model.values.shape)
    start = time.perf_counter()
    iterations = 0
    for iterations in range(1, opts.max_iterations + 1):
        br = best_response(model, steps.price)
        upper, excess = dual_value(model, steps.price, br)
        if iterations % opts.repair_every == 1 or opts.repair_every == 1:
            for slack in (1e-3 * scale, 1e-2 * scale):
                y = run_markets(model, steps.price, slack, br)
                if steps.offer(expected_welfare(model, y)):
                    best_y = y
        steps.observe(upper)
        if progress is not None:
            progress(iterations, steps.best_upper, steps.best_lower, steps.gap)
        if steps.gap <= opts.target_gap or time.perf_counter() - start > opts.time_limit:
            break
        if not steps.step(upper, excess):
            break
    best_upper, best_lower, best_price, theta = (
        steps.best_upper,
        steps.best_lower,
        steps.best_price,
        steps.theta,
    )
    gap = steps.gap
    return TTPSolution(
        model=model,
        y=best_y,
        welfare=best_lower,
        lp_bound=best_upper,
        upper_bound=best_upper,
        gap=gap,
        lp_integral=None,
        supported=None,
        prices=PriceSystem(price=best_price, option_value=best_response(model, best_price).value),
        method="market",
        formulation="lagrangian",
        timings={"market": time.perf_counter() - start},
        stats={"iterations": iterations, "theta": theta},
        notes=[
            "market solver: lp_bound is the best Lagrangian dual bound (an upper bound on the "
            "LP optimum); the prices are the ones that gave it, not a certified equilibrium"
        ],
    )


def _gap(upper: float, lower: float) -> float:
    if not np.isfinite(upper) or not np.isfinite(lower):
        return float("inf")
    return max(0.0, (upper - lower) / max(abs(upper), 1e-12))


def _initial_prices(model: TTPModel) -> NDArray[np.float64]:
    """The myopic clearing price at every node: the (μ + 1)-th highest unit value, or 0."""
    values = np.where(model.can_buy, np.maximum(model.values, 0.0), 0.0)
    n_nodes = values.shape[1]
    order = np.argsort(-values, axis=0, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=0)
    units = np.cumsum(model.counts[order], axis=0)  # units at or above each rank
    supply = model.node_supply
    beyond = units > supply[None, :]
    has = beyond.any(axis=0)
    first = np.argmax(beyond, axis=0)
    price = np.where(has, sorted_values[first, np.arange(n_nodes)], 0.0)
    return np.where(supply > 0, price, 0.0)
