"""Exhaustive search over adapted assignments, by recursion on the tree (small cases only)."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.model import TTPModel


def brute_force_welfare(model: TTPModel) -> float:
    """The optimum of [P0] by enumeration.

    At node n with remaining opportunities r (per buyer) and stock σ carried in (carry-over
    only), every integer vector k ≤ r with Σ k ≤ μ(t) + σ is tried:
    J(n, r, σ) = max_k Σ_i k_i v_i(n) + Σ_c P(c | n) J(c, r − k, σ'). An adapted assignment is
    exactly such a choice at every node, so the maximum is [P0]'s optimum.
    Exponential in the number of buyers: keep instances tiny.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> brute_force_welfare(weather())
    12.0
    """
    tree = model.tree
    values = model.values
    supply = model.node_supply
    first_child = {}
    if tree.horizon > 0:
        for node, start in enumerate(tree.child_start.tolist()):
            first_child[node] = start
    n_children = tree.n_children

    present = model.present

    carry = model.carry_over

    @cache
    def best(node: int, remaining: tuple[int, ...], stock: int) -> float:
        choices = [range(r + 1) if present[i, node] else range(1) for i, r in enumerate(remaining)]
        top = -np.inf
        kids = []
        if n_children[node]:
            start = first_child[node]
            kids = list(range(start, start + int(n_children[node])))
        available = int(supply[node]) + stock
        for k in itertools.product(*choices):
            if sum(k) > available:
                continue
            gain = float(np.dot(k, values[:, node]))
            left = tuple(r - x for r, x in zip(remaining, k, strict=True))
            carried = available - sum(k) if carry else 0
            future = sum(float(tree.cond_prob[c]) * best(c, left, carried) for c in kids)
            top = max(top, gain + future)
        return top

    start = tuple(int(c) for c in model.counts)
    roots = range(tree.level(0).start, tree.level(0).stop)
    return float(sum(float(tree.prob[r]) * best(r, start, 0) for r in roots))


def assignment_violations(model: TTPModel, y: NDArray[np.float64]) -> list[str]:
    """What makes ``y`` infeasible for [P0] (empty when it is feasible)."""
    problems = []
    if np.any(y < -1e-9):
        problems.append("negative assignment")
    if np.any(np.abs(y - np.round(y)) > 1e-9):
        problems.append("fractional assignment")
    if np.any(model.stock(y) < -1e-9):
        problems.append("supply exceeded at some node")
    anc = model.tree.ancestors
    per_path = y[:, anc].sum(axis=2)  # (I, L)
    if np.any(per_path > model.counts[:, None] + 1e-9):
        problems.append("a buyer gets more permits than her count on some path")
    return problems
