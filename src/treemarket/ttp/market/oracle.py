"""The dual side of the market solver: buyers' best responses to prices and L(p).

For prices p ≥ 0 (per node), the Lagrangian dual of [P1] is

    L(p) = Σ_i count_i E[W_i(0)] + Σ_n P(n) μ(t(n)) p(n)  ≥  [P1]  ≥  [P0],

where W_i is buyer i's value of being in the market (her optimal stopping problem at prices p,
one vectorized backward pass for all buyers). Its subgradient at node n is P(n) (μ(t) − D(n)),
with D(n) the units demanded there by the best responses.

The smoothed dual L_τ replaces every choice between buying and waiting (or leaving, at the
leaves) by its soft maximum, W^τ(n) = τ log(exp((v − p)/τ) + exp(E[W^τ(children)]/τ)). It is
convex and differentiable in p, L ≤ L_τ ≤ L + τ log 2 Σ_i count_i (T + 1), and its gradient is
P(n) (μ(t) − D_τ(n)), D_τ the expected units bought when each buyer still in the market buys
at n with the soft probability q(n) = σ((v − p − E[W^τ(children)])/τ) (:func:`smoothed_pass`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from treemarket.scenario import ScenarioTree
from treemarket.ttp.equilibrium import backward_induction, demand_per_node, level_surplus
from treemarket.ttp.model import TTPModel

EXP_FLOOR = -60.0  # exp(−|Δ|/τ) below e^−60 counts as e^−60 (negligible; never subnormal)
TINY = 1e-30  # a share of a buyer's units below this counts as gone


class DualOracle:
    """Σ_i count_i E[W_i(0)] and the demand D(n) of the best responses, with buffers kept
    between iterations.

    The pass runs on the values in ``dtype`` (float32 halves the memory traffic of the big
    models; the bound reported in the end is recomputed in float64 by :meth:`certify`). The
    last pass's option values E[W(t+1) | n] are kept when asked for (the markets need them).
    """

    def __init__(self, model: TTPModel, dtype: type = np.float64, threads: int = 1) -> None:
        self.model = model
        base = model.values_by_node
        self.values = base if base.dtype == dtype else base.astype(dtype)
        self.buy = np.empty(self.values.shape, dtype=bool)
        self.option: NDArray[np.floating] | None = None
        self.soft: NDArray[np.floating] | None = None
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
                model,
                self.values[:, cols],
                price,
                buyers=cols,
                buy=self.buy[:, cols],
                option=None if option is None else option[:, cols],
            )
            payoff = self._root_weight @ root.astype(np.float64)  # E[W_i(0)] per buyer
            counts = model.counts[cols]
            return float(counts @ payoff), demand_per_node(model, self.buy[:, cols], counts)

        model = self.model
        parts = list(
            map(block, self.blocks) if self._pool is None else self._pool.map(block, self.blocks)
        )
        value = 0.0
        demand = np.zeros(model.tree.n_nodes)
        for part_value, part_demand in parts:  # in block order: the same sums every run
            value += part_value
            demand += part_demand
        return value, demand

    def certify(
        self, price: NDArray[np.float64], value: NDArray[np.float64] | None = None
    ) -> float:
        """Σ_i count_i E[W_i(0)] at ``price`` in float64 (fills W, nodes × buyers, into
        ``value`` when given): the buyers' part of the bound that is reported."""
        model = self.model
        root = backward_induction(model, model.values_by_node, price, value=value)
        return float(model.counts @ (self._root_weight @ root))

    def smoothed_value(
        self, price: NDArray[np.float64], tau: float, keep_option: bool = False
    ) -> tuple[float, float, NDArray[np.float64]]:
        """Σ_i count_i E[W^τ_i(0)] (the buyers' part of L_τ), Σ_i count_i E[W_i(0)] (of L) and
        the soft demand D_τ(n) at ``price``; the soft purchase probabilities stay in
        :attr:`soft` (and the option values E[W(t+1) | n] in :attr:`option` when asked)."""
        if self.soft is None:
            self.soft = np.empty_like(self.values)
        if keep_option and self.option is None:
            self.option = np.empty_like(self.values)
        option = self.option if keep_option else None
        soft = self.soft

        def block(cols: slice) -> tuple[float, float, NDArray[np.float64]]:
            hard, smooth = smoothed_pass(
                model,
                self.values[:, cols],
                price,
                tau,
                soft[:, cols],
                buyers=cols,
                option=None if option is None else option[:, cols],
            )
            counts = model.counts[cols]
            demand = soft_demand(model, soft[:, cols], counts)
            weight = self._root_weight
            return (
                float(counts @ (weight @ smooth.astype(np.float64))),
                float(counts @ (weight @ hard.astype(np.float64))),
                demand,
            )

        model = self.model
        parts = list(
            map(block, self.blocks) if self._pool is None else self._pool.map(block, self.blocks)
        )
        smooth_value, hard_value = 0.0, 0.0
        demand = np.zeros(model.tree.n_nodes)
        for part_smooth, part_hard, part_demand in parts:  # in block order
            smooth_value += part_smooth
            hard_value += part_hard
            demand += part_demand
        return smooth_value, hard_value, demand


def smoothed_pass(
    model: TTPModel,
    values: NDArray[np.floating],
    price: NDArray[np.float64],
    tau: float,
    soft: NDArray[np.floating],
    *,
    buyers: slice = slice(None),
    option: NDArray[np.floating] | None = None,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """One backward pass for both W (hard) and W^τ (smoothed), in the dtype of ``values``
    (nodes × buyers, or its columns ``buyers``): fills ``soft`` with the soft purchase
    probabilities q(n) (0 where the buyer cannot buy) and, when given, ``option`` with the hard
    option values E[W(t+1) | n]; returns W and W^τ at the nodes of time 0."""
    tree = model.tree
    dtype = values.dtype
    scalar = dtype.type
    inv_tau = scalar(1.0 / tau)
    hard_below: NDArray[np.floating] | None = None
    soft_below: NDArray[np.floating] | None = None
    for t in range(tree.horizon, -1, -1):
        level = tree.level(t)
        a = level_surplus(model, values, price, t, buyers)
        if hard_below is None or soft_below is None:
            hard_opt = soft_opt = np.zeros((), dtype=dtype)
        else:
            op = tree.expectation_operator(t, dtype.type)
            hard_opt, soft_opt = op @ hard_below, op @ soft_below
        if option is not None:
            option[level] = hard_opt
        # soft max of (a, soft_opt): max + τ log(1 + e), e = exp(−|a − soft_opt| / τ)
        diff = a - soft_opt
        e = np.abs(diff)
        e *= -inv_tau
        np.maximum(e, scalar(EXP_FLOOR), out=e)  # no subnormal numbers: they are slow
        np.exp(e, out=e)
        q = soft[level]
        np.add(e, scalar(1.0), out=q)
        np.reciprocal(q, out=q)  # 1 / (1 + e): the probability of the larger choice
        np.multiply(q, e, out=q, where=diff < 0)  # e / (1 + e) where waiting is larger
        np.log1p(e, out=e)
        e *= scalar(tau)
        e += np.maximum(a, soft_opt)
        soft_below = e
        np.maximum(a, hard_opt, out=a)
        hard_below = a
    assert hard_below is not None and soft_below is not None
    return hard_below, soft_below


def soft_demand(
    model: TTPModel, soft: NDArray[np.floating], counts: NDArray[np.int64]
) -> NDArray[np.float64]:
    """D_τ(n) = Σ_i count_i P(i still in the market at n) q_i(n) under the soft purchase
    probabilities ``soft`` (nodes × buyers, the columns of ``counts``)."""
    tree = model.tree
    weight = counts.astype(soft.dtype)
    demand = np.zeros(tree.n_nodes)
    after = np.ones((0, soft.shape[1]), dtype=soft.dtype)
    for t in range(tree.horizon + 1):
        level = tree.level(t)
        if t == 0:
            still = np.ones((level.stop - level.start, soft.shape[1]), dtype=soft.dtype)
        else:
            still = after[tree.parent[level] - tree.level(t - 1).start]
        buy = still * soft[level]
        demand[level] = buy @ weight
        still -= buy
        np.putmask(still, still < TINY, 0.0)  # no subnormal numbers: they are slow
        after = still
    return demand


def supply_value(
    prob: NDArray[np.float64], supply: NDArray[np.int64], price: NDArray[np.float64]
) -> float:
    """Σ_n P(n) μ(t(n)) p(n): the sellers' part of L(p)."""
    return float(np.sum(prob * supply * price))


def dual_value(model: TTPModel, price: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """L(p) (in float64) and the per-node excess supply μ − D(n) of the best responses at p.

    Examples
    --------
    >>> import numpy as np
    >>> from treemarket.ttp.examples import weather
    >>> m = weather()
    >>> dual_value(m, np.zeros(m.tree.n_nodes))[0]  # at p = 0: Σ_i E[max over stopping]
    12.0
    """
    value, demand = DualOracle(model).buyers_value(price)
    return value + supply_value(model.tree.prob, model.node_supply, price), (
        model.node_supply - demand
    )


def prices_of(
    tree: ScenarioTree, multiplier: NDArray[np.float64], carry_over: bool
) -> NDArray[np.float64]:
    """The node prices of the multipliers: λ itself, or with carry-over the supermartingale
    p(n) = λ(n) + E[p(children) | n], from the leaves up."""
    if not carry_over:
        return multiplier
    price = multiplier.copy()
    for t in range(tree.horizon - 1, -1, -1):
        below = price[tree.level(t + 1)]
        price[tree.level(t)] += tree.expectation_operator(t) @ below
    return price


def lagrangian_bound(model: TTPModel, price: NDArray[np.float64]) -> float:
    """L(p̂) ≥ [P1] ≥ [P0] in float64, for prices from any source (a solver's duals, a price
    system): p̂ is ``price`` made a valid multiplier, p̂ = max(p, 0), with carry-over the
    supermartingale of λ(n) = max(0, p(n) − E[p(children) | n]).

    The bound needs no trust in the source: for an assignment y, L(p̂) − W(y) ≥ 0, and it is
    0 exactly when p̂ supports y (every buyer best-responds, unsold supply is free).

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> from treemarket.ttp import solve_exact
    >>> sol = solve_exact(weather(), price_ranges=False)
    >>> lagrangian_bound(sol.model, sol.prices.price) == sol.welfare
    True
    """
    return dual_value(model, valid_prices(model, price))[0]


def valid_prices(model: TTPModel, price: NDArray[np.float64]) -> NDArray[np.float64]:
    """``price`` made a valid multiplier of [P1]: max(p, 0), with carry-over the supermartingale
    p̂(n) = λ(n) + E[p̂(children) | n] of λ(n) = max(0, p(n) − E[p(children) | n])."""
    tree = model.tree
    valid = np.maximum(np.asarray(price, dtype=np.float64), 0.0)
    if model.carry_over:
        drift = valid.copy()
        drift[: int(tree.level_offsets[-2])] -= tree.expectation_of_children(valid)
        valid = prices_of(tree, np.maximum(drift, 0.0), carry_over=True)
    return valid
