"""The fast exact path: leximin utilities by water-filling, vectorized over the tree's levels.

With ``U_j = Σ_{i ∈ T_j} u_i`` and ``B_j`` the customers' limits below ``j``, the prices are
``p_j = B_j − U_j``, so ``p ≥ 0`` reads ``U_j ≤ B_j`` on the laminar family of subtrees, with
``U_0 = Σ b − s``. The minimum-norm point of that set (Fujishige's lexicographically optimal base,
hence the leximin point) has the KKT form ``u_i = λ − Σ_{j ∋ i} μ_j``: utilities never increase
going down and drop only below an edge with ``p_j = 0``. Its Lagrange dual is an isotonic
regression: ``u`` is the least-squares fit of

    c = −s at the root, 0 at intermediaries, b at customers      (Σ c = Σ b − s)

under ``u_child ≤ u_parent``. Each block of nodes sharing a level ("water level") gets the mean of
``c`` over the block. Two exact algorithms compute it:

* :func:`waterfill_levels`: threshold splitting, a few vectorized passes per round over the levels
  of the tree, about ``log2(number of distinct levels)`` rounds;
* :func:`waterfill_heap`: bottom-up pooling with mergeable heaps (pure Python, ``O(n log² n)``),
  used for very high trees and as an independent check.
"""

from __future__ import annotations

import numpy as np

from treemarket.intermediation.tree import (
    MAX_LEVELS,
    BoolArray,
    FloatArray,
    IntArray,
    IntermediationTree,
    bin_sums,
)

#: Relative tolerance of a split of the water-filling, times the size of the terms summed in
#: ``g_i`` (four units of roundoff): a set whose excess over its mean is within rounding is not
#: split off.
SPLIT_TOL = 2.0**-51


def isotonic_target(tree: IntermediationTree) -> FloatArray:
    """``c``: ``−s`` at the root, ``b`` at customers, 0 at intermediaries (``Σ c = Σ b − s``).

    Examples
    --------
    >>> from treemarket.intermediation import example_tree
    >>> isotonic_target(example_tree(b=8, s=6)).tolist()
    [-6.0, 0.0, 16.0, 0.0, 8.0, 0.0, 8.0]
    """
    c = tree.customer_limit.copy()
    c[0] -= tree.seller_limit
    return c


def waterfill(tree: IntermediationTree) -> FloatArray:
    """The leximin utilities under ``p ≥ 0`` (see the module docstring).

    Level-by-level threshold splitting, or the heap algorithm for trees higher than
    ``MAX_LEVELS``.

    Examples
    --------
    The open case of Fig. 1a (``b = 8 > 2s = 4``): nodes 2, 4, 5, 6 get ``b/2`` and nodes 0, 1, 3
    get ``(2b − s)/3``.

    >>> from treemarket.intermediation import example_tree
    >>> tree = example_tree(b=8, s=2)
    >>> dict(zip(tree.names, np.round(waterfill(tree), 6).tolist()))
    {'0': 4.666667, '1': 4.666667, '3': 4.666667, '4': 4.0, '6': 4.0, '2': 4.0, '5': 4.0}
    """
    if tree.height > MAX_LEVELS:
        return waterfill_heap(tree)
    return waterfill_levels(tree)


def block_levels(tree: IntermediationTree, tight: BoolArray) -> FloatArray:
    """The utilities when exactly the edges ``tight`` carry the price 0 and utilities are equal
    within each block (the components left after cutting the tight edges): each block gets the
    mean of :func:`isotonic_target` over it. Used to polish a solver's answer from its active set.

    Examples
    --------
    >>> from treemarket.intermediation import example_tree
    >>> tree = example_tree(b=8, s=2)
    >>> tight = np.isin(np.arange(tree.n), [tree.index["4"], tree.index["2"]])
    >>> np.round(block_levels(tree, tight), 4).tolist()
    [4.6667, 4.6667, 4.6667, 4.0, 4.0, 4.0, 4.0]
    """
    top = np.where(np.asarray(tight, dtype=bool), np.arange(tree.n), tree.parent)
    top[0] = 0
    while True:
        nxt = top[top]
        if np.array_equal(nxt, top):
            break
        top = nxt
    total = bin_sums(isotonic_target(tree), top, tree.n)  # exact: −s + Σ b cancels
    mean = total / np.maximum(np.bincount(top, minlength=tree.n), 1)
    return mean[top]


def add_to_parents(acc: FloatArray, parents: IntArray, values: FloatArray) -> None:
    """``acc[parents] += values`` for parents sorted non-decreasingly (one level in preorder)."""
    if parents.size == 0:
        return
    starts = np.flatnonzero(np.r_[True, parents[1:] != parents[:-1]])
    acc[parents[starts]] += np.add.reduceat(values, starts)


def path_min(tree: IntermediationTree, values: FloatArray) -> FloatArray:
    """``min`` of ``values`` over each node's ancestors and itself (pointer jumping)."""
    m = np.asarray(values, dtype=np.float64).copy()
    up = tree.parent.copy()
    up[0] = 0
    while True:
        m = np.minimum(m, m[up])
        if not np.any(up):
            return m
        up = up[up]


def waterfill_levels(tree: IntermediationTree) -> FloatArray:
    """Isotonic regression of :func:`isotonic_target` on the tree by threshold splitting.

    Every round splits each unsolved part ``P`` at its mean ``θ``: the upper set maximizing
    ``Σ (c_i − θ)`` (a bottom-up pass, ``g_i = c_i − θ + Σ_children max(0, g_k)``, then a top-down
    pass) holds exactly the nodes whose optimal level is above ``θ``, and the regression splits
    into independent ones on the two sides. A part with no such set is solved: its level is its
    mean. The working arrays are in breadth-first order (a level is a slice) and solved nodes
    leave them, so later rounds are cheaper. Each connected piece of a final part is a block of
    the answer (see :func:`block_levels`).
    """
    n = tree.n
    order, off = tree.levels
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    label = np.empty(n, dtype=np.int64)  # final part of each node
    next_label = 0
    # |c| summed over the subtree of each node plus |θ| times its size bounds the terms of g_i,
    # and so its rounding error: the tolerance of a split is SPLIT_TOL times that (working order)
    magnitude = tree.subtree_limit.copy()
    magnitude[0] += tree.seller_limit
    tol_c = SPLIT_TOL * magnitude[order]
    tol_theta = SPLIT_TOL * tree.size[order].astype(np.float64)
    glob = order.copy()  # working node -> tree node
    c = isotonic_target(tree)[order]
    wpar = np.r_[-1, position[tree.parent[order[1:]]]]  # working parent, -1 if absent
    part = np.zeros(n, dtype=np.int64)
    nparts = 1
    structure_changed = True
    while glob.size:
        if structure_changed:  # after a compaction: parent links and their place in the level
            has = wpar >= 0
            wp = np.where(has, wpar, 0)
            tgt = np.where(has, wp - np.repeat(np.r_[0, off[:-2]], np.diff(off)), 0)
            nlev = off.size - 1
            structure_changed = False
        counts = np.bincount(part, minlength=nparts)
        theta = np.bincount(part, weights=c, minlength=nparts) / counts
        link = has & (part == part[wp])
        g = c - theta[part]
        weight = link.astype(np.float64)
        for d in range(nlev - 1, 0, -1):
            a, b, pa = off[d], off[d + 1], off[d - 1]
            if a < b:
                w = np.maximum(g[a:b], 0.0)
                w *= weight[a:b]
                g[pa:a] += np.bincount(tgt[a:b], weights=w, minlength=a - pa)
        # the split's test, relative to the terms of g: an absolute tolerance (a fraction of the
        # largest limit) would hide a split worth far more than the utilities when they are tiny
        tol = tol_theta * np.abs(theta)[part]
        tol += tol_c
        up = g > tol
        for d in range(1, nlev):
            a, b = off[d], off[d + 1]
            up[a:b] &= ~link[a:b] | up[wp[a:b]]
        k = np.bincount(part[up], minlength=nparts)
        split = (k > 0) & (k < counts)
        if not split.any():
            label[glob] = next_label + part
            break
        key = 2 * part + up
        used = np.zeros(2 * nparts, dtype=bool)
        used[key] = True
        part = (np.cumsum(used) - 1)[key]
        nparts = int(used.sum())
        parent_part = np.flatnonzero(used) // 2
        done = ~split[parent_part][part]
        if 16 * int(np.count_nonzero(done)) >= glob.size:  # drop solved nodes from the arrays
            label[glob[done]] = next_label + part[done]
            next_label += nparts
            keep = ~done
            new = np.cumsum(keep) - 1
            glob = glob[keep]
            c = c[keep]
            tol_c = tol_c[keep]
            tol_theta = tol_theta[keep]
            wk = wpar[keep]
            alive = wk >= 0
            alive[alive] = keep[wk[alive]]
            wpar = np.where(alive, new[np.maximum(wk, 0)], -1)
            off = np.r_[0, np.cumsum(keep)][off]
            structure_changed = True
            part = part[keep]
            used = np.zeros(nparts, dtype=bool)
            used[part] = True
            part = (np.cumsum(used) - 1)[part]
            nparts = int(used.sum())
    # Each connected piece of a final part is a block whose level is its own mean: the part's mean
    # in exact arithmetic, and in floating point it keeps p = 0 exact on the block's top edge.
    tight = np.zeros(n, dtype=bool)
    tight[1:] = label[1:] != label[tree.parent[1:]]
    return block_levels(tree, tight)


def waterfill_heap(tree: IntermediationTree) -> FloatArray:
    """The same isotonic regression by bottom-up pooling (children before parents): a node's
    block absorbs the hanging blocks whose level exceeds its own, largest first, from a heap."""
    import heapq

    n = tree.n
    c = isotonic_target(tree).tolist()
    parent = tree.parent.tolist()
    kids: list[list[int]] = [[] for _ in range(n)]
    for j in range(1, n):
        kids[parent[j]].append(j)
    total = c[:]
    count = [1] * n
    heaps: list[list[tuple[float, int]] | None] = [None] * n
    merged_into = [-1] * n
    for j in range(n - 1, -1, -1):
        heap = [(-total[k] / count[k], k) for k in kids[j]]
        heapq.heapify(heap)
        s, m = c[j], 1
        while heap and -heap[0][0] > s / m:
            _, k = heapq.heappop(heap)
            s += total[k]
            m += count[k]
            merged_into[k] = j
            other = heaps[k] or []
            heaps[k] = None
            if len(other) > len(heap):
                heap, other = other, heap
            for item in other:
                heapq.heappush(heap, item)
        total[j], count[j] = s, m
        heaps[j] = heap
    # the blocks' levels from their exact sums (the running totals above are rounded)
    tight = np.asarray(merged_into) < 0
    tight[0] = False
    return block_levels(tree, tight)
