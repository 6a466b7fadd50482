"""Buyers' best responses to prices and the Bayesian–Nash equilibrium check.

Given prices p(t, ω), each buyer solves an optimal stopping problem on the tree. Her value of
still being in the market at node n is

    W_i(n) = max(v_i(n) − p(n), E[W_i(children) | n])   (t < T),   W_i(n) = max(v_i(n) − p(n), 0)

(buying is impossible where μ(t) = 0 or outside her presence window). She buys where v − p is
at least the option value of waiting E[W_i(t+1) | F(t)], waits while that is larger, and leaves
when nothing positive is expected. One backward pass computes W for all buyers at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.model import TTPModel

TIE = 1e-9  # |v − p − option value| below this (relative to the values' scale) is a tie


@dataclass
class BestResponse:
    """Every buyer's optimal stopping rule at given prices (arrays are buyers × nodes).

    ``value`` is W_i(n); ``option`` is E[W_i(t+1) | n] (0 at the leaves); ``buy`` marks where
    buying is optimal for a buyer still in the market (ties included), ``tie`` where buying and
    waiting are equally good; ``y`` is the assignment of the rule that buys at the first
    optimal node (ties broken towards buying), one unit per buyer of a type.
    """

    value: NDArray[np.float64]
    option: NDArray[np.float64]
    buy: NDArray[np.bool_]
    tie: NDArray[np.bool_]
    y: NDArray[np.float64]

    def expected_payoff(self, model: TTPModel) -> NDArray[np.float64]:
        """E[W_i] at time 0: each buyer's (per-unit) optimal expected payoff."""
        roots = model.tree.level(0)
        return self.value[:, roots] @ model.tree.prob[roots]


def best_response(model: TTPModel, price: NDArray[np.float64]) -> BestResponse:
    """All buyers' optimal stopping rules at prices ``price`` (per node), one backward pass.

    Examples
    --------
    >>> import numpy as np
    >>> from treemarket.ttp.examples import weather
    >>> m = weather()
    >>> br = best_response(m, np.zeros(m.tree.n_nodes))
    >>> br.expected_payoff(m).tolist()     # at zero prices everyone waits for full information
    [5.0, 5.0, 2.0]
    """
    tree = model.tree
    # nodes × buyers layout: every level is a block of contiguous rows
    values = model.values_by_node
    surplus = np.where(model.can_buy_by_node, values - price[:, None], -np.inf)
    value = np.zeros_like(values)
    option = np.zeros_like(values)
    leaves = tree.level(tree.horizon)
    value[leaves] = np.maximum(surplus[leaves], 0.0)
    for t in range(tree.horizon - 1, -1, -1):
        here, below = tree.level(t), tree.level(t + 1)
        starts = tree.child_start[here] - below.start
        weighted = value[below] * tree.cond_prob[below, None]
        option[here] = np.add.reduceat(weighted, starts, axis=0)
        value[here] = np.maximum(surplus[here], option[here])
    scale = max(1.0, float(np.abs(values).max()) if values.size else 1.0)
    gain = surplus - option
    tie = np.isfinite(surplus) & (np.abs(gain) <= TIE * scale) & (surplus >= -TIE * scale)
    buy = np.isfinite(surplus) & (gain >= -TIE * scale) & (surplus >= -TIE * scale)
    y = _first_purchase(model, buy)
    return BestResponse(value=value.T, option=option.T, buy=buy.T, tie=tie.T, y=y.T)


def _first_purchase(model: TTPModel, buy: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Nodes × buyers: buy at the first node on each path where ``buy`` holds (one unit per
    buyer of a type)."""
    tree = model.tree
    holding = np.zeros(buy.shape, dtype=bool)  # still in the market on arrival at the node
    holding[tree.level(0)] = True
    for t in range(1, tree.horizon + 1):
        here = tree.level(t)
        par = tree.parent[here]
        holding[here] = holding[par] & ~buy[par]
    return (holding & buy) * model.counts[None, :].astype(np.float64)


@dataclass
class EquilibriumReport:
    """Is an assignment with prices a competitive equilibrium, and if not, where does it fail?"""

    supported: bool
    buyers: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    ties: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "supported": self.supported,
            "buyers": self.buyers,
            "failing_nodes": self.nodes,
            "ties": self.ties,
        }


def check_equilibrium(
    model: TTPModel, y: NDArray[np.float64], price: NDArray[np.float64], tol: float = 1e-7
) -> EquilibriumReport:
    """Is every buyer's assignment a best response, and does every market clear?

    A buyer's assignment is a best response when its expected payoff E[Σ y (v − p)] equals her
    optimal W_i at time 0 (per unit, for a buyer type) and she never buys where waiting is
    strictly better. A market clears when no more than μ(t) permits are assigned and a positive
    price occurs only where the supply is sold out.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> from treemarket.ttp import solve_exact
    >>> sol = solve_exact(weather(), price_ranges=False)
    >>> check_equilibrium(sol.model, sol.y, sol.prices.price).supported
    True
    """
    tree = model.tree
    br = best_response(model, price)
    scale = max(1.0, float(np.abs(model.values).max()) if model.values.size else 1.0)
    gap = tol * scale
    values = model.values
    closed = ~model.market_open
    payoff = ((values - price[None, :]) * y) @ tree.prob  # expected payoff of the assignment
    optimal = br.expected_payoff(model) * model.counts
    buyers: dict[str, dict[str, Any]] = {}
    ok = True
    for i, name in enumerate(model.buyers):
        wrong_buys = (y[i] > 0.5) & ~br.buy[i]
        entry = {
            "payoff": float(payoff[i]),
            "best_response_payoff": float(optimal[i]),
            "best_response": bool(payoff[i] >= optimal[i] - gap and not wrong_buys.any()),
        }
        if not entry["best_response"]:
            entry["buys_where_waiting_is_better"] = [tree.event(int(n)) for n in
                                                     np.nonzero(wrong_buys)[0][:5]]  # fmt: skip
            ok = False
        buyers[name] = entry
    sold = y.sum(axis=0)
    nodes = []
    stock = model.stock(y)
    over = stock < -1e-9
    if model.carry_over:
        # a price above its expected continuation is fine only where nothing is carried over
        drift = price.copy()
        inner = int(tree.level_offsets[-2])
        drift[:inner] -= tree.expectation_of_children(price)
        unsold_priced = (stock > 1e-9) & (np.abs(drift) > gap) & model.market_open
        unsold_priced |= drift < -gap  # prices expected to rise: better to carry permits on
    else:
        unsold_priced = (stock > 1e-9) & (price > gap) & ~closed
    negative = price < -gap
    for n in np.nonzero(over | unsold_priced | negative)[0].tolist():
        reason = (
            "more permits assigned than supplied"
            if over[n]
            else ("negative price" if negative[n] else "price does not clear the unsold supply")
        )
        nodes.append(
            {"time": int(tree.time[n]), "event": tree.event(n), "price": float(price[n]),
             "sold": float(sold[n]), "supply": int(model.node_supply[n]), "problem": reason}
        )  # fmt: skip
    ok = ok and not nodes
    return EquilibriumReport(supported=ok, buyers=buyers, nodes=nodes, ties=int(br.tie.sum()))
