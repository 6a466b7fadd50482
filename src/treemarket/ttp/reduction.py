"""Buyers with identical value processes solved as one type: the problem forward, the answer back.

Two buyers with the same exercise values V_i(ω), presence window and early benefits are
interchangeable: [P0] and [P1] are symmetric in them, and a solver wastes its time on the
symmetry (an LP with many optimal vertices, a branch and bound that explores copies of one
node). :func:`merge_identical_buyers` builds the model in which each class of identical buyers
is one type whose count is the sum of theirs; :meth:`BuyerMerge.restore` maps a solution of
that model back to the buyers: the type's units go to its members top-down along every path
(each member holds her own count), its prices and option values are each member's. The welfare,
the bounds and the prices are those of the merged model, and the optimality system holds for
the restored assignment whenever it holds for the merged one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.model import TTPModel
from treemarket.ttp.optimality import check_optimality
from treemarket.ttp.prices import PriceSystem
from treemarket.ttp.result import TTPSolution

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class BuyerMerge:
    """The merged model and, for every buyer of the original one, her type in it."""

    original: TTPModel
    model: TTPModel
    type_of: IntArray

    @property
    def merges(self) -> bool:
        """Does the merged model have fewer buyers than the original?"""
        return self.model.n_buyers < self.original.n_buyers

    def restore(self, solution: TTPSolution) -> TTPSolution:
        """The solution for the original buyers (welfare, bounds and prices unchanged)."""
        if not self.merges:
            return solution
        original = self.original
        prices = solution.prices
        if prices is not None:
            prices = PriceSystem(prices.price, prices.option_value[self.type_of])
        y = self.split(solution.y)
        y_lp = None if solution.y_lp is None else self.share(solution.y_lp)
        priced = y if y_lp is None or solution.supported.proven else y_lp
        report = solution.optimality
        if report is not None and prices is not None:
            report = check_optimality(original, priced, prices.price, prices.option_value)
        stats = {**solution.stats, "buyer_types": self.model.n_buyers}
        return replace(
            solution,
            model=original,
            y=y,
            y_lp=y_lp,
            prices=prices,
            optimality=report,
            _systems={},
            stats=stats,
        )

    def share(self, y_type: FloatArray) -> FloatArray:
        """A fractional assignment split in proportion to the members' counts."""
        counts = self.original.counts.astype(np.float64)
        totals = np.bincount(self.type_of, weights=counts, minlength=self.model.n_buyers)
        total = totals[self.type_of]
        share = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
        return y_type[self.type_of] * share[:, None]

    def split(self, y_type: FloatArray) -> FloatArray:
        """An integer assignment of the types split among their members, top-down along every
        path: at each node the type's units go to its members in buyer order, each up to the
        opportunities she has left there."""
        tree, counts = self.original.tree, self.original.counts
        y = np.zeros((self.original.n_buyers, tree.n_nodes))
        left = np.repeat(counts[:, None].astype(np.float64), tree.level(0).stop, axis=1)
        for t in range(tree.horizon + 1):
            level = tree.level(t)
            if t > 0:
                previous = tree.level(t - 1)
                left = left[:, tree.parent[level] - previous.start]
            units = y_type[self.type_of, level]  # each member sees her type's units
            # units already given to the members before her in the same type
            before = np.zeros_like(left)
            for members in self._groups():
                cum = np.cumsum(left[members], axis=0)
                before[members] = cum - left[members]
            take = np.clip(units - before, 0.0, left)
            y[:, level] = take
            left = left - take
        return y

    def _groups(self) -> list[IntArray]:
        """The members of every type with more than one, in buyer order."""
        order = np.argsort(self.type_of, kind="stable")
        bounds = np.flatnonzero(np.diff(self.type_of[order])) + 1
        return [g for g in np.split(order, bounds) if g.size > 1]


def merge_identical_buyers(model: TTPModel) -> BuyerMerge:
    """Classes of buyers with the same values, window and early benefits, as types.

    Examples
    --------
    >>> from treemarket.ttp.model import TTPModel
    >>> m = TTPModel.from_scenarios(
    ...     ["A", "B", "C"], [1, 1], {"up": (0.5, {"A": 3, "B": 3, "C": 1}),
    ...                               "down": (0.5, {"A": -1, "B": -1, "C": 1})},
    ...     [[["up", "down"]], [["up"], ["down"]]])
    >>> merge = merge_identical_buyers(m)
    >>> merge.model.buyers, merge.model.counts.tolist(), merge.type_of.tolist()
    (['A', 'C'], [2, 1], [0, 0, 1])
    """
    parts = [model.scenario_values]
    if model.window is not None:
        parts.append(model.window.astype(np.float64))
    if model.early_benefit is not None:
        parts.append(model.early_benefit)
    key = np.hstack(parts) if len(parts) > 1 else parts[0]
    _, first, type_of = np.unique(key, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # types in the order of their first member
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    type_of = rank[type_of.ravel()].astype(np.int64)
    counts = np.bincount(type_of, weights=model.counts, minlength=order.size).astype(np.int64)
    merged = model.select_buyers(first[order], counts)
    return BuyerMerge(model, merged, type_of)
