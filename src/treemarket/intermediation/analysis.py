"""Everything ``treemarket intermediation solve`` reports, as one object with its JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from treemarket.intermediation.pricing import (
    EqualUtility,
    Pricing,
    Profitability,
    equal_utility,
    price,
    profitability,
)
from treemarket.intermediation.tree import FloatArray, IntermediationTree


@dataclass(frozen=True)
class Analysis:
    """Prop. 1 (transactions, chains), Prop. 2 (profitability), system (14) and a pricing rule.

    Examples
    --------
    >>> from treemarket.intermediation import analyze, example_tree
    >>> result = analyze(example_tree(b=8, s=6))
    >>> out = result.to_json()
    >>> out["profitable"], out["transactions"], out["equal_utility"]["nonnegative"]
    (True, 6, True)
    >>> out["chains"][1]
    ['0', '1', '4', '6']
    """

    tree: IntermediationTree
    profitability: Profitability
    equal_utility: EqualUtility
    pricing: Pricing

    def by_name(self, values: FloatArray, skip_root: bool = False) -> dict[str, float]:
        """``{node name: value}`` in preorder."""
        names = self.tree.names
        start = 1 if skip_root else 0
        return {names[i]: float(values[i]) for i in range(start, self.tree.n)}

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``treemarket intermediation solve --json`` (keys documented in
        ``docs/json.md``): ``profitable``, ``surplus``, ``transactions``, ``chains``,
        ``equal_utility``, ``pricing`` and a few more."""
        tree, pr, eq, pc = self.tree, self.profitability, self.equal_utility, self.pricing
        names = tree.names
        pricing: dict[str, Any] = {
            "rule": pc.rule,
            "prices": self.by_name(pc.prices, skip_root=True),
            "utilities": self.by_name(pc.utilities),
            "method": pc.method,
            "unique": pc.unique,
            "welfare": {
                "utilitarian": pc.total_utility,
                "egalitarian": pc.min_utility,
                "nash_log": pc.nash_log_welfare,
            },
            "certificate": pc.certificate.to_json(),
        }
        if pc.low is not None and pc.high is not None:
            pricing["utility_range"] = {
                names[i]: [float(pc.low[i]), float(pc.high[i])] for i in range(tree.n)
            }
        witness = None
        if pr.witness_prices is not None and pr.witness_utilities is not None:
            witness = {
                "prices": self.by_name(pr.witness_prices, skip_root=True),
                "utilities": self.by_name(pr.witness_utilities),
            }
        return {
            "name": tree.name,
            "profitable": pr.profitable,
            "surplus": pr.surplus,
            "shortfall": pr.shortfall,
            "witness": witness,
            "transactions": tree.transactions,
            "customers": tree.customers,
            "intermediaries": tree.intermediaries,
            "chains": tree.chains(),
            "equal_utility": {
                "h": eq.h,
                "prices": self.by_name(eq.prices, skip_root=True),
                "nonnegative": eq.nonnegative,
                "negative": [names[i] for i in np.flatnonzero(eq.prices < 0).tolist()],
            },
            "pricing": pricing,
        }


def analyze(tree: IntermediationTree, rule: str = "leximin", method: str = "auto") -> Analysis:
    """Run every analysis of the paper on ``tree`` and price it with ``rule``
    (see :func:`~treemarket.intermediation.pricing.price`)."""
    return Analysis(tree, profitability(tree), equal_utility(tree), price(tree, rule, method))
