"""Scenario reduction (Heitsch and Römisch): keep n of P scenarios, each removed scenario's
probability moved to its nearest kept one, so that the Kantorovich distance

    D_K = Σ_{k removed} p_k · min_{j kept} c(ξ_k, ξ_j)

between the original and the reduced distribution stays small. Fast forward selection adds the
scenario that lowers D_K most; simultaneous backward reduction removes the one that raises it
least. Both work on the P × P cost matrix, so they are for thousands of scenarios, not millions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.distance import cdist

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MAX_SCENARIOS = 5000  # the P × P cost matrix: 200 MB at this size


@dataclass(frozen=True)
class Reduction:
    """A reduced scenario set.

    Attributes
    ----------
    kept : (n,) int
        Indices of the kept scenarios, in the order they were chosen (forward) or by index
        (backward).
    prob : (n,) float
        Their probabilities after the redistribution (the mass of their nearest removed ones).
    assignment : (P,) int
        For every original scenario, the position in ``kept`` of its nearest kept scenario.
    distance : float
        The Kantorovich distance D_K between the original and the reduced distribution.
    """

    kept: IntArray
    prob: FloatArray
    assignment: IntArray
    distance: float


def path_cost(features: FloatArray, other: FloatArray | None = None) -> FloatArray:
    """c(ξ, ζ) = Σ_t ‖ξ_t − ζ_t‖₂ for (P, T + 1, F) paths: the (P, Q) cost matrix."""
    b = features if other is None else other
    out = np.zeros((features.shape[0], b.shape[0]))
    for t in range(features.shape[1]):
        out += cdist(features[:, t, :], b[:, t, :])
    return out


def _check(cost: FloatArray, prob: FloatArray) -> None:
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1] or cost.shape[0] != prob.shape[0]:
        raise ValueError("cost must be a square (P, P) matrix with one probability per scenario")


def _result(cost: FloatArray, prob: FloatArray, kept: IntArray) -> Reduction:
    nearest = np.argmin(cost[:, kept], axis=1)
    distance = float(prob @ cost[np.arange(cost.shape[0]), kept[nearest]])
    mass = np.bincount(nearest, weights=prob, minlength=kept.shape[0]).astype(np.float64)
    return Reduction(kept, mass, nearest.astype(np.int64), distance)


def forward_selection(
    cost: ArrayLike, prob: ArrayLike, n: int | None = None, tolerance: float | None = None
) -> Reduction:
    """Fast forward selection: pick u minimising Σ_k p_k min(d_k, c_ku), where d_k is the
    distance of scenario k to the scenarios chosen so far, until ``n`` are kept or D_K ≤
    ``tolerance``.

    Examples
    --------
    >>> c = np.abs(np.subtract.outer([0.0, 1.0, 10.0], [0.0, 1.0, 10.0]))
    >>> red = forward_selection(c, [0.6, 0.2, 0.2], n=2)
    >>> red.kept.tolist(), red.prob.tolist(), red.distance
    ([0, 2], [0.8, 0.2], 0.2)
    """
    c = np.asarray(cost, dtype=np.float64)
    p = np.asarray(prob, dtype=np.float64)
    _check(c, p)
    size = c.shape[0]
    target = size if n is None else max(1, min(int(n), size))
    d = np.full(size, np.inf)
    chosen = np.zeros(size, dtype=bool)
    kept: list[int] = []
    while len(kept) < target:
        z = p @ np.minimum(d[:, None], c)
        z[chosen] = np.inf
        u = int(np.argmin(z))
        kept.append(u)
        chosen[u] = True
        d = np.minimum(d, c[:, u])
        if tolerance is not None and float(p @ d) <= tolerance:
            break
    return _result(c, p, np.asarray(kept, dtype=np.int64))


def backward_reduction(
    cost: ArrayLike, prob: ArrayLike, n: int | None = None, tolerance: float | None = None
) -> Reduction:
    """Simultaneous backward reduction: remove the scenario l whose removal raises D_K least
    (its scenarios move to their second-nearest kept one), while more than ``n`` are kept and
    D_K stays ≤ ``tolerance``.

    Examples
    --------
    >>> c = np.abs(np.subtract.outer([0.0, 1.0, 10.0], [0.0, 1.0, 10.0]))
    >>> red = backward_reduction(c, [0.6, 0.2, 0.2], n=2)
    >>> red.kept.tolist(), red.prob.tolist(), red.distance
    ([0, 2], [0.8, 0.2], 0.2)
    """
    c = np.asarray(cost, dtype=np.float64)
    p = np.asarray(prob, dtype=np.float64)
    _check(c, p)
    size = c.shape[0]
    target = 1 if n is None else max(1, min(int(n), size))
    alive = np.ones(size, dtype=bool)
    rows = np.arange(size)
    if size > 1:
        two = np.argpartition(c, 1, axis=1)[:, :2]
        swap = c[rows, two[:, 0]] > c[rows, two[:, 1]]
        two[swap] = two[swap][:, ::-1]
        first, second = two[:, 0].copy(), two[:, 1].copy()
    else:
        first = second = np.zeros(1, dtype=np.int64)
    distance = 0.0
    left = size
    while left > target:
        raise_by = np.bincount(
            first, weights=p * (c[rows, second] - c[rows, first]), minlength=size
        )
        raise_by[~alive] = np.inf
        gone = int(np.argmin(raise_by))
        if tolerance is not None and distance + raise_by[gone] > tolerance:
            break
        alive[gone] = False
        left -= 1
        distance += float(raise_by[gone])
        touched = np.nonzero((first == gone) | (second == gone))[0]
        if touched.size and left >= 2:
            sub = np.where(alive[None, :], c[touched], np.inf)
            two = np.argpartition(sub, 1, axis=1)[:, :2]
            r = np.arange(touched.size)
            swap = sub[r, two[:, 0]] > sub[r, two[:, 1]]
            two[swap] = two[swap][:, ::-1]
            first[touched], second[touched] = two[:, 0], two[:, 1]
        elif touched.size:
            only = int(np.nonzero(alive)[0][0])
            first[:] = only
            second[:] = only
    return _result(c, p, np.nonzero(alive)[0].astype(np.int64))
