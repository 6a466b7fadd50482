"""Buyers' best responses to prices and the Bayesian–Nash equilibrium check.

Given prices p(t, ω), each buyer solves an optimal stopping problem on the tree. Her value of
still being in the market at node n is

    W_i(n) = max(v_i(n) − p(n), E[W_i(children) | n])   (t < T),   W_i(n) = max(v_i(n) − p(n), 0)

(buying is impossible where μ(t) = 0 or outside her presence window). She buys where v − p is
at least the option value of waiting E[W_i(t+1) | F(t)], waits while that is larger, and leaves
when nothing positive is expected. One backward pass computes W for all buyers at once.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    values = model.values_by_node  # nodes × buyers: every level is a block of rows
    scale = max(1.0, float(np.abs(values).max()) if values.size else 1.0)
    tol = TIE * scale
    value = np.empty_like(values)
    option = np.empty_like(values)
    buy = np.empty(values.shape, dtype=bool)
    backward_induction(model, values, price, tie=tol, value=value, option=option, buy=buy)
    surplus = np.where(model.can_buy_by_node, values - price[:, None], -np.inf)
    tie = np.isfinite(surplus) & (np.abs(surplus - option) <= tol) & (surplus >= -tol)
    y = first_purchases(model, buy)
    return BestResponse(value=value.T, option=option.T, buy=buy.T, tie=tie.T, y=y.T)


def level_surplus(
    model: TTPModel,
    values: NDArray[np.floating],
    price: NDArray[np.float64],
    t: int,
    buyers: slice = slice(None),
) -> NDArray[np.floating]:
    """v_i(n) − p(n) at the nodes of time ``t`` (nodes × buyers, the columns ``buyers`` of
    ``values``), −inf where buyer i cannot buy: a closed market or outside her window."""
    level = model.tree.level(t)
    surplus = values[level] - price[level, None].astype(values.dtype)
    open_ = model.market_open[level]
    if not open_.all():
        surplus[~open_] = -np.inf
    active = model.active_at(t)[buyers]
    if not active.all():
        surplus[:, ~active] = -np.inf
    return surplus


def backward_induction(
    model: TTPModel,
    values: NDArray[np.floating],
    price: NDArray[np.float64],
    *,
    tie: float = 0.0,
    buyers: slice = slice(None),
    value: NDArray[np.floating] | None = None,
    option: NDArray[np.floating] | None = None,
    buy: NDArray[np.bool_] | None = None,
) -> NDArray[np.floating]:
    """W_i(n) = max(v_i(n) − p(n), E[W_i(t+1) | n]) from the leaves up, for all buyers at once.

    ``values`` is nodes × buyers (the model's values, or their columns ``buyers``, in any float
    dtype; the pass computes in that dtype). Fills, when given, ``value`` (W), ``option``
    (E[W(t+1) | n], 0 at the leaves) and ``buy`` (buying is optimal: v − p ≥ option − ``tie``),
    all nodes × buyers; returns W at the nodes of time 0 (roots × buyers). Only one level of
    temporaries is alive at a time.
    """
    tree = model.tree
    dtype = values.dtype
    below: NDArray[np.floating] | None = None
    for t in range(tree.horizon, -1, -1):
        level = tree.level(t)
        w = level_surplus(model, values, price, t, buyers)
        if below is None:
            opt = np.zeros((), dtype=dtype)
        else:
            opt = tree.expectation_operator(t, dtype.type) @ below
        if option is not None:
            option[level] = opt
        if buy is not None:
            np.greater_equal(w, opt - dtype.type(tie), out=buy[level])
        np.maximum(w, opt, out=w)
        if value is not None:
            value[level] = w
        below = w
    assert below is not None
    return below


def purchases_by_level(
    model: TTPModel, buy: NDArray[np.bool_]
) -> Iterator[tuple[slice, NDArray[np.bool_]]]:
    """Follow the rule "buy at the first node where ``buy`` holds" down the tree: yields, per
    level, the level's slice and the (nodes × buyers) mask of who buys there."""
    tree = model.tree
    after = np.ones((0, buy.shape[1]), dtype=bool)
    for t in range(tree.horizon + 1):
        level = tree.level(t)
        if t == 0:  # everyone is in the market on arrival at time 0
            holding = np.ones((level.stop - level.start, buy.shape[1]), dtype=bool)
        else:
            holding = after[tree.parent[level] - tree.level(t - 1).start]
        take = holding & buy[level]
        yield level, take
        after = holding & ~buy[level]


def first_purchases(model: TTPModel, buy: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Nodes × buyers: buy at the first node on each path where ``buy`` holds (one unit per
    buyer of a type)."""
    y = np.zeros(buy.shape)
    counts = model.counts.astype(np.float64)
    for level, take in purchases_by_level(model, buy):
        y[level] = take * counts[None, :]
    return y


def demand_per_node(
    model: TTPModel, buy: NDArray[np.bool_], counts: NDArray[np.int64] | None = None
) -> NDArray[np.float64]:
    """D(n) = Σ_i count_i [i buys first at n] under the rule given by ``buy`` (nodes × buyers;
    ``counts`` of its columns, the model's by default)."""
    counts = model.counts if counts is None else counts
    unit = bool(np.all(counts == 1))
    weight = counts.astype(np.float64 if counts.sum() > 2**24 else np.float32)
    demand = np.zeros(model.tree.n_nodes)
    for level, take in purchases_by_level(model, buy):
        demand[level] = (
            np.count_nonzero(take, axis=1) if unit else take.astype(weight.dtype) @ weight
        )
    return demand


@dataclass
class EquilibriumReport:
    """Is an assignment with prices a competitive equilibrium, and if not, where does it fail?

    ``holds``: every buyer best-responds and every market clears (within the tolerance).
    """

    holds: bool
    buyers: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    ties: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
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
    >>> check_equilibrium(sol.model, sol.y, sol.prices.price).holds
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
        entry: dict[str, Any] = {
            "payoff": float(payoff[i]),
            "best_response_payoff": float(optimal[i]),
            "best_response": bool(payoff[i] >= optimal[i] - gap and not wrong_buys.any()),
        }
        if not entry["best_response"]:
            entry["buys_where_waiting_is_better"] = [
                tree.event(int(n)) for n in np.nonzero(wrong_buys)[0][:5]
            ]
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
            {
                "time": int(tree.time[n]),
                "event": tree.event(n),
                "price": float(price[n]),
                "sold": float(sold[n]),
                "supply": int(model.node_supply[n]),
                "problem": reason,
            }
        )
    ok = ok and not nodes
    return EquilibriumReport(holds=ok, buyers=buyers, nodes=nodes, ties=int(br.tie.sum()))
