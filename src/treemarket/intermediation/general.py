"""The general solvers, kept as the check on the water-filling: LPs on HiGHS and a conic program
on Clarabel, both through :mod:`treemarket.solvers`.

All work in the prices ``p`` (one per edge, ``p ≥ 0``) with the utilities affine in them,
``u = A p + c`` (column ``j`` of ``A``: ``−1`` at node ``j``, ``+1`` at its parent), scaled by
``tree.unit`` so that the numbers are of order 1.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from treemarket.errors import SolverError
from treemarket.intermediation.certificate import certificate
from treemarket.intermediation.tree import BoolArray, FloatArray, IntArray, IntermediationTree
from treemarket.intermediation.waterfill import block_levels, isotonic_target
from treemarket.solvers import LinearProgram, SolveOptions, get_solver
from treemarket.solvers.conic import NashProgram, solve_nash


def edge_matrix(tree: IntermediationTree) -> sp.csc_array:
    """``A`` (n × t) with ``u = A p + isotonic_target(tree)``."""
    n = tree.n
    cols = np.arange(n - 1)
    rows = np.r_[np.arange(1, n), tree.parent[1:]]
    vals = np.r_[-np.ones(n - 1), np.ones(n - 1)]
    return sp.csc_array((vals, (rows, np.r_[cols, cols])), shape=(n, n - 1))


def _lp_solve(
    tree: IntermediationTree, free: BoolArray, value: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """``max z s.t. u_i ≥ z (free i), u_i ≥ value_i (other i), p ≥ 0`` in units of
    ``tree.unit``; returns ``(z, p, |row duals|)``."""
    n = tree.n
    A = edge_matrix(tree)
    c0 = isotonic_target(tree) / tree.unit
    M = sp.hstack([A, sp.csc_array(-free.astype(np.float64)[:, None])], format="csc")
    lp = LinearProgram(
        c=np.r_[np.zeros(n - 1), 1.0],
        A=M,
        row_lower=np.where(free, -c0, value - c0),
        row_upper=np.full(n, np.inf),
        col_lower=np.r_[np.zeros(n - 1), -np.inf],
        col_upper=np.full(n, np.inf),
        maximize=True,
    )
    sol = get_solver("highs").solve(lp, SolveOptions(feasibility_tol=1e-10, optimality_tol=1e-10))
    if not sol.ok or sol.x is None or sol.row_duals is None:
        raise SolverError(f"leximin LP: HiGHS returned status {sol.status}")
    return float(sol.x[-1]), sol.x[:-1], np.abs(sol.row_duals)


def leximin_lp(tree: IntermediationTree) -> FloatArray:
    """Leximin utilities by a sequence of LPs: maximize the smallest utility of the free nodes,
    fix the free nodes whose constraint has a nonzero dual (they sit at ``z*`` in every
    optimum), repeat. At most ``n`` LPs; for small trees (a check)."""
    n = tree.n
    fixed = np.zeros(n, dtype=bool)
    value = np.zeros(n)
    while not fixed.all():
        z, _, dual = _lp_solve(tree, ~fixed, value)
        newly = ~fixed & (dual > 1e-9)
        # the duals of the free rows sum to 1 (the column of z): the largest is at least 1/n, so
        # it is among them already; naming it makes the progress of every round evident
        newly[np.flatnonzero(~fixed)[np.argmax(dual[~fixed])]] = True
        fixed |= newly
        value[newly] = z
    return value * tree.unit


def egalitarian_lp(tree: IntermediationTree) -> FloatArray:
    """Prices maximizing ``min u`` from one LP: an (arbitrary) optimal vertex."""
    n = tree.n
    _, p, _ = _lp_solve(tree, np.ones(n, dtype=bool), np.zeros(n))
    return np.r_[0.0, np.maximum(p, 0.0)] * tree.unit


def _active_set_guesses(tree: IntermediationTree, prices: FloatArray) -> list[BoolArray]:
    """Guesses of the edges priced 0 at the optimum, from an interior-point answer: edges below
    which the utility visibly drops (only possible where the price is 0), then edges whose price
    is nearly 0, for a range of thresholds."""
    u = tree.utilities(prices)
    drop = np.r_[0.0, u[tree.parent[1:]] - u[1:]]
    guesses = [drop > d * tree.unit for d in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)]
    guesses += [prices <= t * tree.unit for t in (1e-10, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4)]
    for tight in guesses:
        tight[0] = False
    return guesses


def forced_zero(tree: IntermediationTree, tol: float = 1e-12) -> BoolArray:
    """Nodes whose utility must be 0 when everyone gets ``u ≥ 0``: those in a subtree whose
    customers all have limit 0 (every node when ``Σ b = s``)."""
    zero = tree.subtree_limit <= tol * tree.scale
    zero[0] = False
    if abs(tree.surplus) <= tol * tree.scale:
        zero[:] = True
    return zero


def nash_program(tree: IntermediationTree, free: IntArray) -> NashProgram:
    """``max Σ_{i ∈ free} log u_i`` over ``p ≥ 0`` and ``u ≥ 0``, in units of ``tree.unit``, as a
    :class:`~treemarket.solvers.conic.NashProgram` (``x = p`` without the root's entry)."""
    A = edge_matrix(tree).tocsr()
    c0 = isotonic_target(tree) / tree.unit
    n = tree.n
    return NashProgram(
        F=A[free],
        g=c0[free],
        A=A,
        row_lower=-c0,
        row_upper=np.full(n, np.inf),
        col_lower=np.zeros(n - 1),
        col_upper=np.full(n - 1, np.inf),
    )


def nash_cvxpy(
    tree: IntermediationTree, formulation: str = "auto", polish: bool = True
) -> tuple[FloatArray, str]:
    """``max Σ log u`` over ``p ≥ 0`` on a profitable tree, with the conic backend
    (:func:`treemarket.solvers.conic.solve_nash`: Clarabel through cvxpy).

    Nodes forced to 0 (see :func:`forced_zero`) are left out of the sum. ``formulation`` is the
    backend's: ``auto`` writes the objective with ``cp.geo_mean`` up to
    ``GEO_MEAN_MAX`` free nodes (``geo_mean``), above that as a balanced binary tree of
    2-variable geometric means (``soc``); ``log`` uses exponential cones.

    With ``polish`` the answer is rounded to its active set (edges priced 0, guessed from the
    utility drops and from the prices near 0) and the exact point of that active set
    (:func:`~treemarket.intermediation.waterfill.block_levels`) replaces it when it passes the
    KKT check; the method string says which one was returned.

    Returns
    -------
    prices : (n,) float
    method : str
        ``cvxpy-geo_mean``, ``cvxpy-soc`` or ``cvxpy-log``, with ``+polish`` when polished;
        ``forced`` when every utility must be 0.

    Raises
    ------
    SolverError
        When the conic solver finds no optimum.
    """
    zero = forced_zero(tree)
    if zero.all():
        p = tree.subtree_limit.copy()
        p[0] = 0.0
        return p, "forced"
    free = np.flatnonzero(~zero)
    sol = solve_nash(nash_program(tree, free), formulation=formulation, tol=1e-10)
    if not sol.ok or sol.x is None:
        raise SolverError(f"nash: Clarabel returned status {sol.status}")
    raw = np.r_[0.0, np.maximum(sol.x, 0.0)] * tree.unit
    method = f"cvxpy-{sol.formulation}"
    if not polish:
        return raw, method
    for tight in _active_set_guesses(tree, raw):
        candidate = np.maximum(tree.prices(block_levels(tree, tight)), 0.0)
        candidate[0] = 0.0
        if certificate(tree, candidate).ok:
            return candidate, method + "+polish"
    return raw, method
