"""The optimality conditions of a price vector: the KKT check every pricing comes with.

With ``U_j = Σ_{i ∈ T_j} u_i`` the constraint ``p_j ≥ 0`` reads ``U_j ≤ B_j``; for
``max Σ φ(u_i)`` with a concave ``φ`` the multiplier of ``p_j ≥ 0`` is
``μ_j = φ'(u_j) − φ'(u_parent(j))``. So, whatever ``φ``, the prices are optimal exactly when

    p ≥ 0,    u_j ≤ u_parent(j),    p_j (u_parent(j) − u_j) = 0,

which :func:`certificate` measures. This module depends on the tree only, so that every solver
(:mod:`~treemarket.intermediation.waterfill`, :mod:`~treemarket.intermediation.general`) and the
rules of :mod:`~treemarket.intermediation.pricing` can use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from treemarket.intermediation.tree import FloatArray, IntermediationTree

#: Residual tolerance of a :class:`Certificate`, relative to ``tree.unit``.
CERT_TOL = 1e-9
#: Relative rounding allowed in a utility computed from the prices it sums.
ROUNDING = 1e-12


@dataclass(frozen=True)
class Certificate:
    """Optimality conditions of a price vector, as residuals relative to ``tree.unit``.

    * ``feasibility``: ``max(0, −min p)``.
    * ``monotonicity``: ``max_j (u_j − u_parent(j))``, at most 0 at the optimum.
    * ``complementarity``: ``max_j min(p_j, u_parent(j) − u_j)``: utility may drop below an
      edge only where its price is 0.

    Utility differences within the rounding of the prices they sum (``ROUNDING`` times their
    magnitude) count as 0.

    All three at 0 are the KKT conditions of ``max Σ φ(u_i)`` over ``p ≥ 0`` for every concave
    ``φ`` (multiplier of ``p_j ≥ 0``: ``φ'(u_j) − φ'(u_parent(j))``), so they prove the prices
    leximin, Nash-optimal (when ``u > 0``) and optimal for every symmetric concave welfare.
    """

    feasibility: float
    monotonicity: float
    complementarity: float
    tol: float = CERT_TOL

    @property
    def ok(self) -> bool:
        """All residuals within ``tol``."""
        return max(self.feasibility, self.monotonicity, self.complementarity) <= self.tol

    def to_json(self) -> dict[str, float | bool]:
        """The residuals and the verdict."""
        return {
            "feasibility": self.feasibility,
            "monotonicity": self.monotonicity,
            "complementarity": self.complementarity,
            "ok": self.ok,
        }


def certificate(tree: IntermediationTree, prices: FloatArray, tol: float = CERT_TOL) -> Certificate:
    """Check the KKT conditions of ``prices`` (see :class:`Certificate`).

    Parameters
    ----------
    tree : IntermediationTree
    prices : (n,) float
        ``p_j`` paid by node ``j`` (``prices[0]`` is ignored).
    tol : float
        The largest residual, relative to ``tree.unit``, that passes.

    Examples
    --------
    >>> from treemarket.intermediation import equal_utility, example_tree, price
    >>> tree = example_tree(b=8, s=2)
    >>> certificate(tree, equal_utility(tree).prices).ok   # feasible? no: p4 < 0
    False
    >>> certificate(tree, price(tree).prices).ok
    True
    """
    p = np.asarray(prices, dtype=np.float64).copy()
    p[0] = 0.0
    u = tree.utilities(p)
    scale = tree.unit
    parent = tree.parent[1:]
    # rounding in u_i = (received) − p_i grows with the prices summed: allow for it per edge
    size: NDArray[np.float64] = np.abs(p) + np.bincount(
        parent, weights=np.abs(p[1:]), minlength=tree.n
    )
    size += tree.customer_limit
    size[0] += tree.seller_limit
    allow = ROUNDING * (size[1:] + size[parent])
    pj = p[1:]
    drop = u[parent] - u[1:]
    feas = max(0.0, float(-pj.min())) / scale
    mono = max(0.0, float((-drop - allow).max())) / scale
    comp = max(0.0, float(np.minimum(pj, drop - allow).max())) / scale
    return Certificate(feas, mono, comp, tol)


def nash_multipliers(tree: IntermediationTree, utilities: FloatArray) -> FloatArray:
    """KKT multipliers of ``p_j ≥ 0`` in ``max Σ log u``: ``μ_j = 1/u_j − 1/u_parent(j)``
    (``μ_0 = 0``); optimality needs ``μ ≥ 0`` and ``μ_j p_j = 0``.

    The open case of Fig. 1a: only the edges into ``4`` and ``2``, priced 0, carry a multiplier.

    Examples
    --------
    >>> from treemarket.intermediation import example_tree, price
    >>> tree = example_tree(b=8, s=2)
    >>> mu = nash_multipliers(tree, price(tree, "nash").utilities)
    >>> dict(zip(tree.names, (np.round(mu, 4) + 0.0).tolist()))
    {'0': 0.0, '1': 0.0, '3': 0.0, '4': 0.0357, '6': 0.0, '2': 0.0357, '5': 0.0}
    """
    u = np.asarray(utilities, dtype=np.float64)
    mu = np.zeros(tree.n)
    with np.errstate(divide="ignore"):
        mu[1:] = 1.0 / u[1:] - 1.0 / u[tree.parent[1:]]
    return mu
