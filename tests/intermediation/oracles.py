"""Independent, slow references for small trees: plain Python loops over explicit children lists,
sharing no code with the library's pricing."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
from scipy.optimize import linprog

from treemarket.intermediation import IntermediationTree


def children_lists(tree: IntermediationTree) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in range(tree.n)]
    for j in range(1, tree.n):
        kids[int(tree.parent[j])].append(j)
    return kids


def subtree_nodes(tree: IntermediationTree) -> list[list[int]]:
    """Every node's subtree, by a plain depth-first walk."""
    kids = children_lists(tree)
    out = []
    for j in range(tree.n):
        stack, seen = [j], []
        while stack:
            v = stack.pop()
            seen.append(v)
            stack.extend(kids[v])
        out.append(seen)
    return out


def utilities_by_definition(tree: IntermediationTree, prices: list[float]) -> list[float]:
    """Definition 2 of the paper, term by term."""
    kids = children_lists(tree)
    u = []
    for i in range(tree.n):
        received = sum(prices[k] for k in kids[i])
        if i == 0:
            u.append(received - float(tree.limit[0]))
        elif not kids[i]:
            u.append(float(tree.limit[i]) - prices[i])
        else:
            u.append(received - prices[i])
    return u


def prices_by_definition(tree: IntermediationTree, utilities: list[float]) -> list[float]:
    """``p_j = Σ_{leaves below j} b − Σ_{i below j} u_i``, summed over explicit node lists."""
    subs = subtree_nodes(tree)
    kids = children_lists(tree)
    p = [0.0]
    for j in range(1, tree.n):
        b = sum(float(tree.limit[i]) for i in subs[j] if not kids[i])
        p.append(b - sum(utilities[i] for i in subs[j]))
    return p


def leximin_bruteforce(tree: IntermediationTree, tol: float = 1e-12) -> list[float]:
    """Leximin utilities by enumerating active sets.

    For every set K of edges priced 0, the utilities that are equal within each block (the
    components after cutting K) and sum, per block, to what the block can share are the leximin
    point of the face ``{p_K = 0}``; keep the feasible candidates (all prices ≥ 0) and return the
    lexicographically best sorted utility vector. ``2^t`` candidates: t ≤ 12 or so.
    """
    n = tree.n
    kids = children_lists(tree)
    best: list[float] | None = None
    best_key: list[float] | None = None
    for mask in itertools.product([False, True], repeat=n - 1):
        top = block_tops(tree, [False, *mask])
        share: dict[int, float] = {}
        count: dict[int, int] = {}
        for v in range(n):
            c = -float(tree.limit[0]) if v == 0 else (float(tree.limit[v]) if not kids[v] else 0.0)
            share[top[v]] = share.get(top[v], 0.0) + c
            count[top[v]] = count.get(top[v], 0) + 1
        u = [share[top[v]] / count[top[v]] for v in range(n)]
        p = prices_by_definition(tree, u)
        if min(p[1:]) < -tol * tree.scale:
            continue
        key = sorted(u)
        if best_key is None or _lex_greater(key, best_key, tol * tree.scale):
            best, best_key = u, key
    assert best is not None
    return best


def _lex_greater(a: list[float], b: list[float], tol: float) -> bool:
    for x, y in zip(a, b, strict=True):
        if x > y + tol:
            return True
        if x < y - tol:
            return False
    return False


#: HiGHS's feasibility tolerances for the oracles' LPs, as the library's own LPs use: the default,
#: 1e-7 in units of the largest limit, is as large as a seller's limit of 1e-7 and let an LP
#: leave the seller a utility of −1e-7.
LP_TOLERANCES = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def _feasible_lp(tree: IntermediationTree) -> tuple[np.ndarray, np.ndarray]:
    """``u = A p + c`` written out by definition (dense), for scipy's linprog, in units of
    ``tree.unit`` (so that the LP's absolute tolerances mean the same on every tree)."""
    n = tree.n
    A = np.zeros((n, n - 1))
    for j in range(1, n):
        A[j, j - 1] -= 1.0
        A[int(tree.parent[j]), j - 1] += 1.0
    c = np.array(utilities_by_definition(tree, [0.0] * n)) / tree.unit
    return A, c


def max_sum_of_smallest(tree: IntermediationTree, k: int) -> float:
    """``max over p ≥ 0 of (the sum of the k smallest utilities)``, an LP:
    ``max k t − Σ z_i  s.t.  z_i ≥ t − u_i, z ≥ 0``."""
    n = tree.n
    A, c = _feasible_lp(tree)
    # variables: p (n-1), t, z (n)
    cost = np.r_[np.zeros(n - 1), -k, np.ones(n)]
    # t - u_i - z_i <= 0  ->  -A p + t - z_i <= c_i
    A_ub = np.hstack([-A, np.ones((n, 1)), -np.eye(n)])
    res = linprog(
        cost,
        A_ub=A_ub,
        b_ub=c,
        bounds=[(0, None)] * (n - 1) + [(None, None)] + [(0, None)] * n,
        method="highs",
        options=LP_TOLERANCES,
    )
    assert res.status == 0, res.message
    return -float(res.fun) * tree.unit


def utility_range_lp(tree: IntermediationTree, node: int, floor: float) -> tuple[float, float]:
    """``min`` and ``max`` of ``u_node`` over ``p ≥ 0`` with every utility ``≥ floor``."""
    n = tree.n
    A, c = _feasible_lp(tree)
    out = []
    for sign in (1.0, -1.0):
        res = linprog(
            sign * A[node],
            A_ub=-A,
            b_ub=c - floor / tree.unit + 1e-12,
            bounds=[(0, None)] * (n - 1),
            method="highs",
            options=LP_TOLERANCES,
        )
        assert res.status == 0, res.message
        out.append((sign * float(res.fun) + float(c[node])) * tree.unit)
    return out[0], out[1]


def nash_log(u: list[float] | np.ndarray) -> float:
    return sum(math.log(x) for x in u) if min(u) > 0 else -math.inf


def exact_utilities(tree: IntermediationTree, prices: list[float] | np.ndarray) -> list[Fraction]:
    """Definition 2 in rational arithmetic: the utilities the float prices give, unrounded."""
    kids = children_lists(tree)
    p = [Fraction(float(x)) for x in prices]
    u = []
    for i in range(tree.n):
        received = sum((p[k] for k in kids[i]), Fraction(0))
        if i == 0:
            u.append(received - Fraction(float(tree.limit[0])))
        elif not kids[i]:
            u.append(Fraction(float(tree.limit[i])) - p[i])
        else:
            u.append(received - p[i])
    return u


def block_tops(tree: IntermediationTree, tight: list[bool]) -> list[int]:
    """The block of each node when the edges ``tight`` are cut: its nearest ancestor-or-self
    that is the root or has a tight edge."""
    top = list(range(tree.n))
    for v in range(1, tree.n):  # preorder: parents first
        top[v] = v if tight[v] else top[int(tree.parent[v])]
    return top


def exact_block_optimum(
    tree: IntermediationTree, tight: list[bool]
) -> tuple[list[Fraction], list[Fraction]]:
    """``(u, p)`` in rational arithmetic when exactly the edges ``tight`` carry the price 0 and
    each block (what is left after cutting them) shares its limits equally."""
    n = tree.n
    kids = children_lists(tree)
    top = block_tops(tree, tight)
    share: dict[int, Fraction] = {}
    count: dict[int, int] = {}
    for v in range(n):
        c = Fraction(float(tree.limit[v])) if (v and not kids[v]) else Fraction(0)
        if v == 0:
            c = -Fraction(float(tree.limit[0]))
        share[top[v]] = share.get(top[v], Fraction(0)) + c
        count[top[v]] = count.get(top[v], 0) + 1
    u = [share[top[v]] / count[top[v]] for v in range(n)]
    subs = subtree_nodes(tree)
    p = [Fraction(0)]
    for j in range(1, n):
        b = sum((Fraction(float(tree.limit[i])) for i in subs[j] if not kids[i]), Fraction(0))
        p.append(b - sum((u[i] for i in subs[j]), Fraction(0)))
    return u, p


def float64_resolution(
    tree: IntermediationTree, prices: np.ndarray, utilities: np.ndarray
) -> np.ndarray:
    """Per edge ``j ≥ 1``: how far float64 alone may move ``(u_parent − u_j)/u_parent`` (the
    Nash multiplier ``μ_j`` scaled by ``u_j``) from its exact value.

    A price is held to half a unit in its last place, ``2^-53 |p|``, so
    ``u_i = b_i − p_i + Σ_children p_k`` moves by up to ``2^-53 P_i`` with
    ``P_i = |p_i| + Σ_children |p_k|`` (``b`` and ``s`` are exact inputs), and rounding ``u_i``
    itself adds ``2^-53 u_i``. A drop ``u_parent − u_j`` that is 0 at the optimum can so be
    ``2^-53 (P_j + P_parent + u_j + u_parent)`` in float64. Returned: twice that (a price may be a
    whole unit in the last place off), over ``u_parent``.
    """
    kids = children_lists(tree)
    p = [abs(float(x)) for x in prices]
    p[0] = 0.0
    size = [p[i] + sum(p[k] for k in kids[i]) + abs(float(utilities[i])) for i in range(tree.n)]
    eps = float(np.finfo(np.float64).eps)  # 2^-52: a whole unit in the last place
    out = []
    for j in range(1, tree.n):
        par = int(tree.parent[j])
        out.append(eps * (size[j] + size[par]) / abs(float(utilities[par])))
    return np.array(out)
