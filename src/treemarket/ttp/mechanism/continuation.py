"""J(n, z, s): optimal continuation values on the scenario tree, and the state walk.

J(n, z, s) is the optimal expected welfare from node n on, conditional on reaching n, when the
buyers still hold the opportunities z (per buyer or type) and, with carry-over, s unsold permits
arrive at n: the problem ``model.submodel(n, z, s)``. The continuation "without (one unit of)
i" is J(n, z − e_i, s). At the root, J(root, counts) = W*, the optimum of [P0].

Along an assignment y the state entering each node is walked down from the root
(:func:`node_state`): the opportunities z(n) = counts − Σ_{m above n} y(m) and, with carry-over,
the permits carried in s(n) = Σ_{m above n} (μ(t(m)) − Σ_i y_i(m)), the sums over the strict
ancestors m of n. The flow of welfare F(n) = Σ_i v_i(n) y_i(n) (:func:`flow`) and the
conditional expectations E[x(c) | n] over the children c (:func:`children_mean`) and
E[Σ_{m ≥ n} x(m) | n] over the subtree (:func:`expected_total`) are what the pivot's payments
are made of.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.exact import solve_exact
from treemarket.ttp.market.clearing import clear
from treemarket.ttp.mechanism._common import ArrayLikeInt, FloatArray, IntArray
from treemarket.ttp.model import TTPModel

__all__ = [
    "ContinuationValues",
    "NodeState",
    "children_mean",
    "expected_total",
    "flow",
    "leaf_assignment",
    "node_state",
    "submodel",
]


class ContinuationValues:
    """J(n, z, s): the optimal expected welfare from node n on, conditional on n, of the buyers
    who still hold z opportunities (and s permits carried in).

    One exact solve of ``model.submodel(n, z, s)`` per distinct state (cached); a single market
    (a leaf) is solved in closed form (the highest positive unit values). Buyers with z_i = 0
    are dropped before solving.

    Parameters
    ----------
    model : TTPModel
        The true model (its values are what J measures).

    Attributes
    ----------
    solves : int
        Exact solves spent so far (leaves and cached states cost none).

    Examples
    --------
    In the weather example the optimum is 12; without C the best is 10. After the forecast
    "no rain" (node 1) with A and C still in, one permit is sold now and one at t = 2: A now (6
    or 8) and C at the end (2), 9 in expectation.

    >>> from treemarket.ttp.examples import weather
    >>> J = ContinuationValues(weather())
    >>> J.root([1, 1, 1]), J.root([1, 1, 0])
    (12.0, 10.0)
    >>> weather().tree.event(1), J(1, [1, 0, 1])
    (['CF', 'FC'], 9.0)
    """

    def __init__(self, model: TTPModel) -> None:
        self.model = model
        self.solves = 0
        self._cache: dict[tuple[int, tuple[int, ...], int], float] = {}
        self._present = model.present

    def __call__(self, node: int, z: ArrayLikeInt, stock: int = 0) -> float:
        """J(node, z, stock), conditional on reaching ``node``."""
        z = np.asarray(z, dtype=np.int64)
        key = (int(node), tuple(z.tolist()), int(stock))
        if key not in self._cache:
            self._cache[key] = self._solve(int(node), z, int(stock))
        return self._cache[key]

    def root(self, z: ArrayLikeInt) -> float:
        """E[J(root, z)]: the optimum of the whole problem for opportunities z."""
        tree = self.model.tree
        roots = range(tree.level(0).start, tree.level(0).stop)
        return float(sum(float(tree.prob[r]) * self(r, z) for r in roots))

    def _solve(self, node: int, z: IntArray, stock: int) -> float:
        model = self.model
        keep = np.flatnonzero(z > 0)
        if keep.size == 0:
            return 0.0
        if model.tree.time[node] == model.tree.horizon:
            available = int(model.node_supply[node]) + stock
            take = leaf_assignment(model.values[:, node], self._present[:, node], z, available)
            return float(take @ model.values[:, node])
        self.solves += 1
        sub, _ = submodel(model.select_buyers(keep, z[keep]), node, z[keep], stock)
        return float(solve_exact(sub, price_ranges=False).welfare)


@dataclass
class NodeState:
    """What enters each node along an assignment: opportunities ``z_in`` (I, N) and the permits
    carried in ``stock_in`` (N,; 0 everywhere without carry-over)."""

    z_in: IntArray
    stock_in: IntArray


def node_state(model: TTPModel, y: FloatArray, counts: IntArray) -> NodeState:
    """Opportunities and carried-in permits entering every node under the assignment ``y``.

    Parameters
    ----------
    model : TTPModel
    y : (I, N) float
        An integer assignment (rounded here).
    counts : (I,) int
        The opportunities held at the root.

    Examples
    --------
    In the weather example's optimum C buys at the root, so she has no opportunity left at
    either forecast (nodes 1 and 2); A and B still hold theirs:

    >>> from treemarket.ttp import solve_exact
    >>> from treemarket.ttp.examples import weather
    >>> m = weather()
    >>> state = node_state(m, solve_exact(m).y, m.counts)
    >>> state.z_in[:, :3].tolist()        # rows A, B, C; the root and the two forecasts
    [[1, 1, 1], [1, 1, 1], [1, 0, 0]]
    """
    tree = model.tree
    yi = np.rint(y).astype(np.int64)
    z_in = np.asarray(counts, dtype=np.int64)[:, None] - tree.path_sum(yi, inclusive=False)
    if model.carry_over:
        unsold = model.node_supply - yi.sum(axis=0)
        stock_in = tree.path_sum(unsold, inclusive=False)
    else:
        stock_in = np.zeros(tree.n_nodes, dtype=np.int64)
    return NodeState(z_in, stock_in)


def flow(model: TTPModel, y: FloatArray) -> FloatArray:
    """F(n) = Σ_i v_i(n) y_i(n), the welfare realised at each node.

    Examples
    --------
    The weather example's optimum: C's 2 at the root, A's or B's 7 in expectation after "no
    rain", nothing after "rain", then the last permit on each of the four paths:

    >>> from treemarket.ttp import solve_exact
    >>> from treemarket.ttp.examples import weather
    >>> m = weather()
    >>> flow(m, solve_exact(m).y).tolist()
    [2.0, 7.0, 0.0, 8.0, 6.0, 6.0, 6.0]
    """
    return np.einsum("in,in->n", model.values, y)


def children_mean(model: TTPModel, node_values: FloatArray) -> FloatArray:
    """E[x(c) | n] over the children c of every node, 0 at the leaves: ``(..., N) -> (..., N)``.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> m = weather()
    >>> children_mean(m, np.array([2.0, 7.0, 0.0, 8.0, 6.0, 6.0, 6.0])).tolist()
    [3.5, 7.0, 6.0, 0.0, 0.0, 0.0, 0.0]
    """
    tree = model.tree
    out = np.zeros(np.shape(node_values), dtype=np.float64)
    if tree.horizon > 0:
        inner = int(tree.level_offsets[-2])
        out[..., :inner] = tree.expectation_of_children(node_values)
    return out


def expected_total(model: TTPModel, node_values: FloatArray) -> FloatArray:
    """E[Σ_{m ≥ n} x(m) | n] for a flow x per node (``(..., N)``), bottom-up on the tree.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> m = weather()
    >>> expected_total(m, np.ones(m.tree.n_nodes))[:3].tolist()   # T + 1 − t at time t
    [3.0, 2.0, 2.0]
    """
    tree = model.tree
    out = np.array(node_values, dtype=np.float64, copy=True)
    for t in range(tree.horizon - 1, -1, -1):
        here = tree.level(t)
        out[..., here] += children_mean(model, out)[..., here]
    return out


def leaf_assignment(
    values: FloatArray, present: NDArray[np.bool_], z: IntArray, available: int
) -> IntArray:
    """The optimum of a single market: the ``available`` highest positive unit values.

    The market's clearing rule (:func:`~treemarket.ttp.market.clearing.clear`) serves the
    buyers present with a positive value, highest first, ties by buyer order, as a
    deterministic auctioneer would.

    Parameters
    ----------
    values : (I,) float
        Each buyer's (type's) value of a unit in this market.
    present : (I,) bool
        Who can buy here.
    z : (I,) int
        Units (opportunities) each buyer still holds.
    available : int
        Permits for sale.

    Returns
    -------
    (I,) int
        Units served to each buyer.

    Examples
    --------
    >>> leaf_assignment(np.array([3.0, 5.0, 5.0, -1.0]), np.ones(4, bool), np.ones(4, int), 2)
    array([0, 1, 1, 0])
    """
    wants = np.where(np.asarray(present, dtype=bool) & (values > 0), z, 0)
    served = clear(np.zeros(values.shape[0], dtype=np.int64), wants, [available], values)
    return np.rint(served).astype(np.int64)


def submodel(model: TTPModel, node: int, z: IntArray, stock: int) -> tuple[TTPModel, IntArray]:
    """``model.submodel`` with the carried-in stock only where the model carries permits over."""
    return model.submodel(node, z, stock=int(stock) if model.carry_over else 0)
