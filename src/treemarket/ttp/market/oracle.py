"""The dual side of the market solver: buyers' best responses to prices and L(p).

For prices p ≥ 0 (per node), the Lagrangian dual of [P1] is

    L(p) = Σ_i count_i E[W_i(0)] + Σ_n P(n) μ(t(n)) p(n)  ≥  [P1]  ≥  [P0],

where W_i is buyer i's value of being in the market (her optimal stopping problem at prices p,
one vectorized backward pass for all buyers). Its subgradient at node n is P(n) (μ(t) − D(n)),
with D(n) the units demanded there by the best responses.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.equilibrium import backward_induction, demand_per_node
from treemarket.ttp.model import TTPModel


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
