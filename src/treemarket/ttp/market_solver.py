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

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.equilibrium import backward_induction, demand_per_node
from treemarket.ttp.model import TTPModel
from treemarket.ttp.prices import PriceSystem
from treemarket.ttp.result import TTPSolution

BIG = 10**6  # buyers × nodes from which the solver iterates in float32 and in threads


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
    deflection: float = 1.5  # Camerini–Fratta–Maffioli γ (0: plain directions)
    float32: bool | None = None  # iterate on float32 values (None: for 10^6 values and more)
    threads: int | None = None  # best responses in this many threads (None: the cores, from 10^6)


@dataclass
class PriceSteps:
    """The price update shared by the serial and the distributed market solvers.

    Keeps the best dual bound (and its prices) and the best feasible welfare; steps are
    preconditioned Polyak steps in per-node units, p ← max(0, p − α d), with
    α = θ (L(p) − best welfare) / Σ_n P(n) g(n)² for the excess supply g = μ − D; the direction
    d is g deflected when it turns back on the last one (Camerini, Fratta and Maffioli:
    d ← g − γ ⟨g, d_prev⟩ / ‖d_prev‖² d_prev when ⟨g, d_prev⟩ < 0, inner products weighted by
    P(n)), which damps the zigzag between nodes (the step length stays the one of g: with the
    deflected norm the first steps overshoot); θ shrinks by 0.7 (to ``min_step``) and the
    prices return to the best ones after ``patience`` iterations without a better bound.
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
        self.previous: NDArray[np.float64] | None = None

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
            self.previous = None

    def step(self, upper: float, excess: NDArray[np.float64]) -> bool:
        """Move the prices; False when the excess supply gives no direction."""
        direction = np.where(self.open_market, excess, 0.0)
        norm = float(np.sum(self.prob * direction**2))
        if norm <= 0:
            return False
        gamma = self.options.deflection
        if gamma > 0 and self.previous is not None:
            inner = float(np.sum(self.prob * direction * self.previous))
            if inner < 0:  # zigzag: keep part of the last direction
                direction = (
                    direction
                    - gamma * inner / float(np.sum(self.prob * self.previous**2)) * self.previous
                )
        self.previous = direction
        target = max(upper - self.best_lower, 1e-12 * max(1.0, abs(upper)))
        self.price = np.maximum(self.price - self.theta * target / norm * direction, 0.0)
        return True


class DualOracle:
    """L(p) and the demand D(n) of the best responses, with buffers kept between iterations.

    The pass runs on the values in ``dtype`` (float32 halves the memory traffic of the big
    models; the final bound is always recomputed in float64 by :func:`dual_value`). The last
    pass's option values E[W(t+1) | n] are kept when asked for (the markets need them).
    """

    def __init__(self, model: TTPModel, dtype: type = np.float64, threads: int = 1) -> None:
        self.model = model
        base = model.values_by_node
        self.values = base if base.dtype == dtype else base.astype(dtype)
        self.buy = np.empty(self.values.shape, dtype=bool)
        self.option: NDArray[np.floating] | None = None
        self._root_weight = model.tree.prob[model.tree.level(0)]
        # buyers are independent: blocks of columns run in threads (numpy releases the GIL)
        edges = np.linspace(0, model.n_buyers, max(1, min(threads, model.n_buyers)) + 1)
        bounds = edges.round().astype(int).tolist()
        self.blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        self._pool = ThreadPoolExecutor(len(self.blocks)) if len(self.blocks) > 1 else None

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def buyers_value(
        self, price: NDArray[np.float64], keep_option: bool = False
    ) -> tuple[float, NDArray[np.float64]]:
        """Σ_i count_i E[W_i(0)] at ``price`` and the demand D(n) of the best responses."""
        if keep_option and self.option is None:
            self.option = np.empty_like(self.values)
        option = self.option if keep_option else None

        def block(cols: slice) -> tuple[float, NDArray[np.float64]]:
            root = backward_induction(
                model, self.values[:, cols], price, buyers=cols, buy=self.buy[:, cols],
                option=None if option is None else option[:, cols],
            )  # fmt: skip
            payoff = self._root_weight @ root.astype(np.float64)  # E[W_i(0)] per buyer
            counts = model.counts[cols]
            return float(counts @ payoff), demand_per_node(model, self.buy[:, cols], counts)

        model = self.model
        parts = list(map(block, self.blocks) if self._pool is None else
                     self._pool.map(block, self.blocks))  # fmt: skip
        value = 0.0
        demand = np.zeros(model.tree.n_nodes)
        for part_value, part_demand in parts:  # in block order: the same sums every run
            value += part_value
            demand += part_demand
        return value, demand

    def evaluate(
        self, price: NDArray[np.float64], keep_option: bool = False
    ) -> tuple[float, NDArray[np.float64]]:
        """(L(p), μ − D(n)) at ``price``."""
        value, demand = self.buyers_value(price, keep_option)
        model = self.model
        return value + supply_value(model.tree.prob, model.node_supply, price), (
            model.node_supply - demand
        )


def supply_value(
    prob: NDArray[np.float64], supply: NDArray[np.int64], price: NDArray[np.float64]
) -> float:
    """Σ_n P(n) μ(t(n)) p(n): the sellers' part of L(p)."""
    return float(np.sum(prob * supply * price))


def dual_value(model: TTPModel, price: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """L(p) (in float64) and the per-node excess supply μ − D(n) of the best responses at p."""
    return DualOracle(model).evaluate(price)


@dataclass
class Purchases:
    """A feasible assignment as a list: ``units`` of buyer ``buyer`` bought at node ``node``."""

    node: NDArray[np.int64]
    buyer: NDArray[np.int64]
    units: NDArray[np.float64]

    def welfare(self, model: TTPModel) -> float:
        """E[Σ v y] = Σ P(n) v_i(n) y_i(n), from the model's float64 values."""
        value = model.values_by_node[self.node, self.buyer]
        return float(np.sum(model.tree.prob[self.node] * value * self.units))

    def dense(self, model: TTPModel) -> NDArray[np.float64]:
        """y as a buyers × nodes array."""
        y = np.zeros((model.n_buyers, model.tree.n_nodes))
        y[self.buyer, self.node] = self.units
        return y


def run_markets(
    model: TTPModel,
    price: NDArray[np.float64],
    slack: float,
    option: NDArray[np.floating],
    values: NDArray[np.floating] | None = None,
) -> Purchases:
    """A feasible assignment: the sequential markets at ``price``, level by level.

    At each node the buyers still in the market whose surplus over the option value of waiting,
    v − p − E[W(t+1)] (``option``, nodes × buyers), is at least ``−slack`` demand their
    remaining units (at the leaves every positive value demands: there is nothing to wait for);
    at most μ(t) units are served, largest surplus first (ties by value, then buyer order); the
    rest stay in the market. Near the optimal prices many buyers are nearly indifferent, so a
    small slack helps. Per node only the μ(t) best candidates (and ties) are sorted.
    """
    tree = model.tree
    values = model.values_by_node if values is None else values
    dtype = values.dtype
    n_buyers = values.shape[1]
    out_node, out_buyer, out_units = [], [], []
    left = np.empty((0, n_buyers), dtype=np.int32)
    for t in range(tree.horizon + 1):
        level = tree.level(t)
        if t == 0:
            remaining = np.repeat(model.counts[None, :].astype(np.int32), level.stop, axis=0)
        else:
            remaining = left[tree.parent[level] - tree.level(t - 1).start]
        left = remaining
        mu = int(model.supply[t])
        if mu <= 0:
            continue
        v = values[level]
        wants = (v > 0) & (remaining > 0) & model.active_at(t)[None, :]
        if t < tree.horizon:
            score = v - price[level, None].astype(dtype) - option[level]
            wants &= score >= -slack
        else:
            score = v.copy()
        score[~wants] = -np.inf
        if n_buyers > mu:  # keep the μ best per node, and whoever ties with the μ-th
            kth = np.partition(score, n_buyers - mu, axis=1)[:, n_buyers - mu]
            wants &= score >= kth[:, None]
        k, b = np.nonzero(wants)
        if b.size == 0:
            continue
        order = np.lexsort((b, -v[k, b], -score[k, b], k))
        k, b = k[order], b[order]
        d = remaining[k, b]
        cum = np.cumsum(d)
        first = np.searchsorted(k, k, side="left")  # start of each node's group
        before = cum - d - (cum[first] - d[first])
        served = np.clip(mu - before, 0, d)
        some = served > 0
        k, b, served = k[some], b[some], served[some]
        remaining[k, b] -= served  # a fresh array per level: the next level gathers from it
        out_node.append(k + level.start)
        out_buyer.append(b)
        out_units.append(served)
    if not out_node:
        return Purchases(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    return Purchases(
        np.concatenate(out_node).astype(np.int64),
        np.concatenate(out_buyer).astype(np.int64),
        np.concatenate(out_units).astype(np.float64),
    )


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
    if model.carry_over:
        raise ValueError("the market solver does not handle carry_over: use method='exact'")
    opts = options or MarketOptions()
    tree = model.tree
    start = time.perf_counter()
    values = model.values_by_node
    scale = max(1.0, float(np.abs(values).max()) if values.size else 1.0)
    big = values.size >= BIG
    dtype = np.float32 if (big if opts.float32 is None else opts.float32) else np.float64
    threads = opts.threads if opts.threads is not None else (os.cpu_count() or 1) if big else 1
    oracle = DualOracle(model, dtype, threads)
    steps = PriceSteps(opts, tree.prob, model.node_supply > 0, _initial_prices(model))
    best = Purchases(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    iterations = 0
    try:
        for iterations in range(1, opts.max_iterations + 1):
            repair = iterations % opts.repair_every == 1 or opts.repair_every == 1
            upper, excess = oracle.evaluate(steps.price, keep_option=repair)
            if repair:
                assert oracle.option is not None
                for slack in (1e-3 * scale, 1e-2 * scale):
                    found = run_markets(model, steps.price, slack, oracle.option, oracle.values)
                    if steps.offer(found.welfare(model)):
                        best = found
            steps.observe(upper)
            if progress is not None:
                progress(iterations, steps.best_upper, steps.best_lower, steps.gap)
            if steps.gap <= opts.target_gap or time.perf_counter() - start > opts.time_limit:
                break
            if not steps.step(upper, excess):
                break
    finally:
        oracle.close()
    del oracle
    best_price = steps.best_price
    # the certificate, in float64: L(p) at the best prices bounds [P1] (and so [P0]) from above
    option_value = np.empty_like(values)
    root = backward_induction(model, values, best_price, value=option_value)
    roots = tree.level(0)
    upper_bound = float(model.counts @ (tree.prob[roots] @ root)) + supply_value(
        tree.prob, model.node_supply, best_price
    )
    welfare = best.welfare(model)
    return TTPSolution(
        model=model,
        y=best.dense(model),
        welfare=welfare,
        lp_bound=upper_bound,
        upper_bound=upper_bound,
        gap=_gap(upper_bound, welfare),
        lp_integral=None,
        supported=None,
        prices=PriceSystem(price=best_price, option_value=option_value.T),
        method="market",
        formulation="lagrangian",
        timings={"market": time.perf_counter() - start},
        stats={"iterations": iterations, "theta": steps.theta, "float32": dtype == np.float32},
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
    """The myopic clearing price at every node: the (μ + 1)-th highest unit value, or 0.

    Level by level; only the μ + 1 highest entries of a node can hold its (μ + 1)-th unit.
    """
    tree = model.tree
    price = np.zeros(tree.n_nodes)
    for t in range(tree.horizon + 1):
        mu = int(model.supply[t])
        if mu <= 0:
            continue
        level = tree.level(t)
        active = model.active_at(t)
        values = np.where(active[None, :], np.maximum(model.values_by_node[level], 0.0), 0.0)
        counts = np.broadcast_to(np.where(active, model.counts, 0), values.shape)
        if values.shape[1] > mu + 1:
            top = np.argpartition(-values, mu, axis=1)[:, : mu + 1]
            values = np.take_along_axis(values, top, axis=1)
            counts = np.take_along_axis(counts, top, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        values = np.take_along_axis(values, order, axis=1)
        units = np.cumsum(np.take_along_axis(counts, order, axis=1), axis=1)
        beyond = units > mu
        first = np.argmax(beyond, axis=1)
        rows = np.arange(values.shape[0])
        price[level] = np.where(beyond.any(axis=1), values[rows, first], 0.0)
    return price
