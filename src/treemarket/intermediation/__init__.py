"""Intermediation trees: validation, chains, profitability and welfare pricing.

A seller ``S`` (the root, limit price ``s``) sells products to customers (leaves, limit prices
``b``) through intermediaries; the edge into node ``j`` carries the price ``p_j ≥ 0`` that ``j``
pays its parent. Utilities sum to ``Σ b − s`` whatever the prices.

Examples
--------
Fig. 1a of the paper with ``b = 8`` and ``s = 2`` (``b > 2s``: some equal-utility price is
negative and the paper's Prop. 3 does not apply):

>>> from treemarket.intermediation import analyze, example_tree
>>> result = analyze(example_tree(b=8, s=2))
>>> result.profitability.profitable, result.equal_utility.nonnegative
(True, False)
>>> {k: round(v, 4) for k, v in result.to_json()["pricing"]["prices"].items()}
{'1': 6.6667, '3': 11.3333, '4': 0.0, '6': 4.0, '2': 0.0, '5': 4.0}
"""

from treemarket.intermediation.analysis import Analysis, analyze
from treemarket.intermediation.certificate import Certificate, certificate, nash_multipliers
from treemarket.intermediation.general import forced_zero, nash_cvxpy
from treemarket.intermediation.pricing import (
    RULES,
    EqualUtility,
    NashUndefinedError,
    Pricing,
    Profitability,
    egalitarian_ranges,
    egalitarian_value,
    equal_utility,
    example_tree,
    leximin_utilities,
    price,
    profitability,
)
from treemarket.intermediation.tree import IntermediationTree, format_products
from treemarket.intermediation.waterfill import block_levels, isotonic_target

__all__ = [
    "RULES",
    "Analysis",
    "Certificate",
    "EqualUtility",
    "IntermediationTree",
    "NashUndefinedError",
    "Pricing",
    "Profitability",
    "analyze",
    "block_levels",
    "certificate",
    "egalitarian_ranges",
    "egalitarian_value",
    "equal_utility",
    "example_tree",
    "forced_zero",
    "format_products",
    "isotonic_target",
    "leximin_utilities",
    "nash_cvxpy",
    "nash_multipliers",
    "price",
    "profitability",
]
