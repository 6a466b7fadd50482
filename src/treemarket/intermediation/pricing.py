"""Profitability and welfare pricing on an intermediation tree.

Notation of the paper: seller limit ``s``, customer limits ``b``, edge prices ``p_j ≥ 0``,
utilities ``u``, ``t`` edges, ``h = (Σ b − s)/(t + 1)``.

The structure everything here uses: for the edge into node ``j``,

    Σ_{i ∈ T_j} u_i = B_j − p_j        (B_j = the customers' limits below j),

so prices and utilities determine each other (``p_j = B_j − U_j``), and ``p ≥ 0`` is exactly
``U_j ≤ B_j`` on the laminar family of subtrees, with ``U_0 = Σ b − s`` fixed. On that set the
leximin point is the unique point where utilities never increase going down the tree and drop
only below an edge with ``p_j = 0`` (:mod:`~treemarket.intermediation.certificate`). The same
conditions are the KKT conditions of ``max Σ φ(u_i)`` for *every* concave ``φ`` (``log`` gives
Nash), so this one point
is majorization-minimal: it maximizes Nash welfare and every symmetric concave (Schur-concave)
welfare at once — Fujishige's lexicographically optimal base. It is computed by water-filling
(:mod:`treemarket.intermediation.waterfill`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from treemarket.errors import ModelError
from treemarket.intermediation import general
from treemarket.intermediation.certificate import CERT_TOL, Certificate, certificate
from treemarket.intermediation.tree import FloatArray, IntArray, IntermediationTree, build_tree
from treemarket.intermediation.waterfill import (
    add_to_parents,
    path_min,
    waterfill,
    waterfill_heap,
    waterfill_levels,
)

RULES: tuple[str, ...] = ("leximin", "egalitarian", "nash")
METHODS: tuple[str, ...] = ("auto", "waterfill", "heap", "lp", "cvxpy")

#: Relative accuracy of sums over a subtree: prices within it of 0 count as 0.
PRICE_TOL = 1e-11


class NashUndefinedError(ModelError):
    """The Nash rule asked for on a tree that is not collectively profitable."""


def price_tolerance(tree: IntermediationTree, utilities: FloatArray) -> FloatArray:
    """Per edge, a bound on the rounding error in ``p_j = B_j − Σ_{T_j} u``."""
    largest = float(np.abs(utilities).max())
    return PRICE_TOL * (tree.subtree_limit + tree.size * largest) + 1e-15 * tree.unit


def clean_prices(tree: IntermediationTree, prices: FloatArray, utilities: FloatArray) -> FloatArray:
    """Prices within rounding of 0 set to 0 (``prices[0] = 0``)."""
    p = np.where(np.abs(prices) <= price_tolerance(tree, utilities), 0.0, prices)
    p[0] = 0.0
    return p


# ---------------------------------------------------------------------------- profitability
@dataclass(frozen=True)
class Profitability:
    """Prop. 2: the tree is collectively profitable iff ``Σ b ≥ s``.

    ``witness_prices`` (when profitable) give every participant ``u ≥ 0``: every node except the
    seller gets the egalitarian optimum ``m*``, the seller the rest. ``shortfall`` is
    ``s − Σ b`` when not profitable (0 otherwise).
    """

    profitable: bool
    surplus: float
    shortfall: float
    witness_prices: FloatArray | None
    witness_utilities: FloatArray | None

    def verdict(self) -> str:
        """One line for people."""
        if self.profitable:
            return f"collectively profitable: Σb − s = {self.surplus:.6g} ≥ 0 (Prop. 2)"
        return (
            f"not collectively profitable, by {self.shortfall:.6g}: Σb − s = {self.surplus:.6g} "
            "< 0, so no prices give every participant u ≥ 0 (Prop. 2)"
        )


def profitability(tree: IntermediationTree) -> Profitability:
    """Collective profitability (Prop. 2) with a witness price annotation.

    Examples
    --------
    >>> from treemarket.intermediation import IntermediationTree
    >>> tree = IntermediationTree.from_arrays([-1, 0, 1], [3.0, np.nan, 5.0])
    >>> pr = profitability(tree)
    >>> pr.profitable, pr.surplus, np.round(pr.witness_utilities, 9).tolist()
    (True, 2.0, [0.666666667, 0.666666667, 0.666666667])
    """
    surplus = tree.surplus
    if surplus < 0:
        return Profitability(False, surplus, -surplus, None, None)
    m = egalitarian_value(tree)
    u = np.full(tree.n, m)
    u[0] = surplus - m * (tree.n - 1)
    p = np.maximum(clean_prices(tree, tree.prices(u), u), 0.0)
    return Profitability(True, surplus, 0.0, p, tree.utilities(p))


# ---------------------------------------------------------------------------- equal utility
@dataclass(frozen=True)
class EqualUtility:
    """System (14): ``u_i = h`` for every participant, ``h = (Σ b − s)/(t + 1)``.

    ``prices[j] = B_j − |T_j| h`` (``prices[0] = 0``). When they are all ``≥ 0``
    (``nonnegative``), Prop. 3 applies: they maximize egalitarian, Nash and every symmetric
    concave welfare.
    """

    h: float
    prices: FloatArray
    nonnegative: bool

    @property
    def negative(self) -> IntArray:
        """Nodes whose equal-utility price is negative."""
        return np.flatnonzero(self.prices < 0) if not self.nonnegative else np.zeros(0, np.int64)


def equal_utility(tree: IntermediationTree) -> EqualUtility:
    """Solve the triangular system (14) in one vectorized pass.

    Examples
    --------
    Fig. 1a with ``b = 8`` (``b_12 = 16``) and ``s = 6``: ``h = (4b − s)/7``.

    >>> from treemarket.intermediation import example_tree
    >>> eq = equal_utility(example_tree(b=8, s=6))
    >>> round(eq.h * 7, 12), eq.nonnegative
    (26.0, True)
    """
    h = tree.surplus / tree.n
    u = np.full(tree.n, h)
    p = clean_prices(tree, tree.prices(u), u)
    return EqualUtility(float(h), p, bool(p[1:].min() >= 0))


# ---------------------------------------------------------------------------- egalitarian
def egalitarian_value(tree: IntermediationTree) -> float:
    """The largest possible minimum utility under ``p ≥ 0``:
    ``m* = min(h, min_{j ≠ 0} B_j / |T_j|)`` (everyone at ``m*``, the seller takes the rest)."""
    ratios = tree.subtree_limit[1:] / tree.size[1:]
    return float(min(tree.surplus / tree.n, ratios.min()))


def egalitarian_ranges(tree: IntermediationTree) -> tuple[float, FloatArray, FloatArray]:
    """``(m*, low, high)``: the range of each utility over all egalitarian optima.

    For ``i ≠ 0``: ``low_i = m*`` and ``high_i = min(Σu − (t)m*, min_{j ∋ i} B_j − (|T_j|−1) m*)``;
    the seller's range comes from the largest total the others can take. The egalitarian optimum
    is unique iff every range is a single point.
    """
    m = egalitarian_value(tree)
    n = tree.n
    total = tree.surplus
    cap = tree.subtree_limit - (tree.size - 1) * m
    cap[0] = np.inf
    high = np.minimum(path_min(tree, cap), total - (n - 1) * m)
    low = np.full(n, m)
    # G_j = max u(T_j) with every u ≥ m*: G_j = min(B_j, m* + Σ_children G_k), bottom-up.
    g = np.where(tree.is_leaf, tree.subtree_limit, m)
    order, offsets = tree.levels
    acc = np.zeros(n)
    for d in range(offsets.size - 2, 0, -1):
        idx = order[offsets[d] : offsets[d + 1]]
        val = np.where(tree.is_leaf[idx], g[idx], np.minimum(tree.subtree_limit[idx], m + acc[idx]))
        g[idx] = val
        add_to_parents(acc, tree.parent[idx], val)
    low[0] = max(m, total - acc[0])
    high[0] = total - (n - 1) * m
    high = np.maximum(high, low)
    return m, low, high


# ---------------------------------------------------------------------------- the rules
@dataclass(frozen=True)
class Pricing:
    """Recommended prices under one welfare rule.

    ``prices[j]`` is what node ``j`` pays its parent (``prices[0] = 0``, the seller pays no
    one); ``utilities`` follow from them. ``unique`` says whether the rule's optimum is unique
    (for ``egalitarian`` with ``low``/``high``, the range of each utility over all optima).
    """

    rule: str
    method: str
    prices: FloatArray
    utilities: FloatArray
    certificate: Certificate
    unique: bool = True
    low: FloatArray | None = field(default=None, repr=False)
    high: FloatArray | None = field(default=None, repr=False)

    @property
    def min_utility(self) -> float:
        """Egalitarian welfare ``min u``."""
        return float(self.utilities.min())

    @property
    def total_utility(self) -> float:
        """Utilitarian welfare ``Σ u`` (always ``Σ b − s``)."""
        return float(self.utilities.sum())

    @property
    def nash_log_welfare(self) -> float | None:
        """``Σ log u`` when every utility is positive, else ``None`` (Nash welfare is 0 or
        undefined)."""
        if self.utilities.min() <= 0:
            return None
        return float(np.log(self.utilities).sum())


def leximin_utilities(tree: IntermediationTree, method: str = "waterfill") -> FloatArray:
    """The leximin utilities under ``p ≥ 0``.

    Parameters
    ----------
    tree : IntermediationTree
    method : {"waterfill", "levels", "heap", "lp"}
        ``waterfill`` (``levels``, or ``heap`` for very high trees), see
        :mod:`~treemarket.intermediation.waterfill`; ``lp``: a sequence of LPs on HiGHS, the
        general check for small trees.

    Examples
    --------
    >>> from treemarket.intermediation import example_tree
    >>> np.round(leximin_utilities(example_tree(b=8, s=2), "lp"), 6).tolist()
    [4.666667, 4.666667, 4.666667, 4.0, 4.0, 4.0, 4.0]
    """
    if method == "waterfill":
        return waterfill(tree)
    if method == "levels":
        return waterfill_levels(tree)
    if method == "heap":
        return waterfill_heap(tree)
    if method == "lp":
        return general.leximin_lp(tree)
    raise ValueError(f"unknown leximin method {method!r}; known: waterfill, levels, heap, lp")


def price(tree: IntermediationTree, rule: str = "leximin", method: str = "auto") -> Pricing:
    """Optimal prices under ``p ≥ 0`` for a welfare rule.

    Parameters
    ----------
    tree : IntermediationTree
    rule : {"leximin", "egalitarian", "nash"}
        ``leximin`` maximizes the smallest utility, then the next, and so on; ``egalitarian``
        maximizes ``min u`` (its optimum is rarely unique: the leximin point is returned as the
        representative, ``unique`` says whether others exist and ``low``/``high`` give each
        utility's range over all optima); ``nash`` maximizes ``Σ log u`` (defined on profitable
        trees only: otherwise someone has ``u < 0`` and :class:`NashUndefinedError` is raised).
    method : {"auto", "waterfill", "heap", "lp", "cvxpy"}
        ``auto``: the equal-utility prices of system (14) when they are ``≥ 0`` (Prop. 3),
        else the water-filling (the same point for all three rules). ``lp`` (leximin,
        egalitarian: an arbitrary optimal LP vertex) and ``cvxpy`` (nash) run the general
        solvers instead, as a check.

    Examples
    --------
    >>> from treemarket.intermediation import example_tree
    >>> tree = example_tree(b=8, s=2)          # b > 2s: the open case
    >>> pr = price(tree, "nash")
    >>> float(pr.prices[tree.index["4"]]), pr.certificate.ok
    (0.0, True)
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; known: {', '.join(RULES)}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if rule == "nash" and tree.surplus < 0:
        raise NashUndefinedError(
            f"rule 'nash' is undefined here: the tree is not profitable (Σb − s = "
            f"{tree.surplus:.6g} < 0), so any prices leave someone with u < 0 and Σ log u has "
            "no value; use rule leximin or egalitarian"
        )
    if method == "cvxpy" and rule != "nash":
        raise ValueError("method 'cvxpy' solves the nash rule; use 'lp' for leximin/egalitarian")
    if method == "lp" and rule == "nash":
        raise ValueError("method 'lp' solves leximin/egalitarian; use 'cvxpy' for nash")

    used = method
    if method == "auto":
        eq = equal_utility(tree)
        if eq.nonnegative:
            prices, used = eq.prices, "equal-utility"
        else:
            u = waterfill(tree)
            prices, used = clean_prices(tree, tree.prices(u), u), "waterfill"
    elif method == "cvxpy":
        prices, used = general.nash_cvxpy(tree)
    elif method == "lp" and rule == "egalitarian":
        prices = general.egalitarian_lp(tree)
    else:
        u = leximin_utilities(tree, method)
        prices = tree.prices(u)
    utilities = tree.utilities(prices)
    cleaned = clean_prices(tree, prices, utilities)
    if not np.array_equal(cleaned, prices):
        prices, utilities = cleaned, tree.utilities(cleaned)
    cert = certificate(
        tree, prices, tol=1e-5 if used.startswith("cvxpy") and "polish" not in used else CERT_TOL
    )
    if rule == "egalitarian":
        _, low, high = egalitarian_ranges(tree)
        unique = bool((high - low).max() <= 1e-9 * tree.unit)
        return Pricing(rule, used, prices, utilities, cert, unique, low, high)
    return Pricing(rule, used, prices, utilities, cert)


def example_tree(b: float = 8.0, s: float = 6.0) -> IntermediationTree:
    """The tree of Fig. 1a with ``b_12 = 2b`` (customer ``3``), ``b_3 = b_4 = b`` (customers
    ``6`` and ``5``) and seller limit ``s``.

    Examples
    --------
    >>> example_tree().names
    ('0', '1', '3', '4', '6', '2', '5')
    """
    return build_tree(
        {
            "name": "0",
            "products": [1, 2, 3, 4],
            "limit": s,
            "children": [
                {
                    "name": "1",
                    "products": [1, 2, 3],
                    "children": [
                        {"name": "3", "products": [1, 2], "limit": 2 * b},
                        {
                            "name": "4",
                            "products": [3],
                            "children": [{"name": "6", "products": [3], "limit": b}],
                        },
                    ],
                },
                {
                    "name": "2",
                    "products": [4],
                    "children": [{"name": "5", "products": [4], "limit": b}],
                },
            ],
        },
        name="fig-1a",
    )
