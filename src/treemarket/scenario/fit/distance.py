"""Distances between a tree and data: Wasserstein-1 per stage and the nested distance.

* ``transport``: the exact optimal-transport LP min Σ π_ij C_ij over couplings π of a and b,
  solved by HiGHS (through ``scipy.optimize.linprog``).
* ``nested_distance``: the Pflug–Pichler nested distance between two trees with states at their
  nodes, for the additive cost Σ_t ‖x_t − y_t‖: backward over the stages,
  D_t(i, j) = ‖x_i − y_j‖ + OT_{P(·|i), P(·|j)}(D_{t+1}) between the children of i and of j.
  Where a node has a single child the transport is a weighted sum (one sparse product per
  stage); other pairs solve one small LP each, so it is for small trees or a fan of data
  against a tree (a fan's nodes have one child each).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog
from scipy.spatial.distance import cdist

from treemarket.scenario.tree import ScenarioTree

FloatArray = NDArray[np.float64]

MAX_PAIR_LPS = 20_000  # nested distance: at most this many small LPs (pairs of branching nodes)
MAX_MATRIX = 20_000_000  # nested distance: at most this many entries in one stage's matrix


def transport(a: ArrayLike, b: ArrayLike, cost: ArrayLike) -> float:
    """min Σ_ij π_ij C_ij over π ≥ 0 with Σ_j π_ij = a_i and Σ_i π_ij = b_j (a and b are
    normalised to sum to 1).

    Examples
    --------
    >>> transport([0.5, 0.5], [1.0], [[1.0], [3.0]])
    2.0
    """
    pa = np.asarray(a, dtype=np.float64)
    pb = np.asarray(b, dtype=np.float64)
    c = np.asarray(cost, dtype=np.float64)
    pa, pb = pa / pa.sum(), pb / pb.sum()
    m, n = c.shape
    if m == 1 or n == 1:
        return float(pa @ c @ pb)
    rows = sp.kron(sp.eye_array(m), np.ones((1, n)), format="csr")
    cols = sp.kron(np.ones((1, m)), sp.eye_array(n), format="csr")
    a_eq = sp.vstack([rows, cols[:-1]], format="csr")  # one balance row is redundant
    b_eq = np.concatenate([pa, pb[:-1]])
    constraints: Any = a_eq
    res = linprog(c.ravel(), A_eq=constraints, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status != 0 or res.fun is None:  # pragma: no cover - always feasible and bounded
        raise RuntimeError(f"the transport LP failed: {res.message}")
    return float(res.fun)


def nested_distance(
    tree_a: ScenarioTree, state_a: ArrayLike, tree_b: ScenarioTree, state_b: ArrayLike
) -> float:
    """The nested distance between two trees of the same horizon whose nodes carry states.

    Parameters
    ----------
    tree_a, tree_b : ScenarioTree
        The trees (several nodes at time 0 are allowed: the level-0 distributions are then
        coupled too).
    state_a, state_b : (N, F) arrays
        Each node's state (features); the cost of a pair of paths is Σ_t ‖x_t − y_t‖₂.

    Raises
    ------
    ValueError
        When it is not affordable: more than ``MAX_MATRIX`` node pairs in one stage, or more
        than ``MAX_PAIR_LPS`` pairs of nodes that both branch.

    Examples
    --------
    >>> tree, _ = ScenarioTree.from_paths([[0, 0], [0, 1]])
    >>> x = np.array([[0.0], [0.0], [2.0]])
    >>> nested_distance(tree, x, tree, x)
    0.0
    """
    xa = np.asarray(state_a, dtype=np.float64).reshape(tree_a.n_nodes, -1)
    xb = np.asarray(state_b, dtype=np.float64).reshape(tree_b.n_nodes, -1)
    if tree_a.horizon != tree_b.horizon:
        raise ValueError("the trees must have the same horizon")
    horizon = tree_a.horizon
    for t in range(horizon + 1):
        la, lb = tree_a.level(t), tree_b.level(t)
        if (la.stop - la.start) * (lb.stop - lb.start) > MAX_MATRIX:
            raise ValueError(f"too large: {la.stop - la.start} × {lb.stop - lb.start} node pairs")
    below: FloatArray | None = None
    for t in range(horizon, -1, -1):
        la, lb = tree_a.level(t), tree_b.level(t)
        here = cdist(xa[la], xb[lb])
        if below is not None:
            here += _children_transport(tree_a, tree_b, t, below)
        below = here
    assert below is not None
    roots_a, roots_b = tree_a.level(0), tree_b.level(0)
    return transport(tree_a.prob[roots_a], tree_b.prob[roots_b], below)


def _children_transport(
    tree_a: ScenarioTree, tree_b: ScenarioTree, t: int, below: FloatArray
) -> FloatArray:
    """OT between the children of every pair (i, j) at time t, cost ``below`` (time t + 1)."""
    ea = tree_a.expectation_operator(t)
    eb = tree_b.expectation_operator(t)
    la, lb = tree_a.level(t), tree_b.level(t)
    kids_a = tree_a.n_children[la]
    kids_b = tree_b.n_children[lb]
    # E_a D E_bᵀ is exact for every pair in which one side has a single child
    out = np.asarray(ea @ (eb @ below.T).T)
    branching_a = np.nonzero(kids_a > 1)[0]
    branching_b = np.nonzero(kids_b > 1)[0]
    if branching_a.size * branching_b.size > MAX_PAIR_LPS:
        raise ValueError(
            f"too many pairs of branching nodes at time {t}: "
            f"{branching_a.size} × {branching_b.size}"
        )
    start_a = tree_a.child_start[la] - tree_a.level_offsets[t + 1]
    start_b = tree_b.child_start[lb] - tree_b.level_offsets[t + 1]
    cond_a = tree_a.cond_prob[tree_a.level(t + 1)]
    cond_b = tree_b.cond_prob[tree_b.level(t + 1)]
    for i in branching_a.tolist():
        ka = slice(int(start_a[i]), int(start_a[i] + kids_a[i]))
        for j in branching_b.tolist():
            kb = slice(int(start_b[j]), int(start_b[j] + kids_b[j]))
            out[i, j] = transport(cond_a[ka], cond_b[kb], below[ka, kb])
    return out


def fan(states: ArrayLike, prob: ArrayLike | None = None) -> tuple[ScenarioTree, FloatArray]:
    """The data as a forest of chains: every path its own branch from time 0 on (the empirical
    process), with its (P, T + 1, F) states laid on the nodes: returns the tree and (N, F)."""
    x = np.asarray(states, dtype=np.float64)
    n_paths, width = x.shape[:2]
    ids = np.repeat(np.arange(n_paths)[:, None], width, axis=1)
    tree, order = ScenarioTree.from_paths(ids, prob)
    # level t holds the paths in tree order; node of (path order[k], t) is offset_t + k
    node_state = x[order].transpose(1, 0, 2).reshape(-1, x.shape[2])
    return tree, node_state
