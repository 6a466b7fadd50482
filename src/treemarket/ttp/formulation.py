"""[P0]/[P1] as sparse linear programs, built with numpy (no loop per nonzero).

Two formulations of the same problem, chosen by measurement (see ``benchmarks/README.md``):

* ``path`` ([P1] of the slides): ``Σ_{n on the path to ω} y_i(n) ≤ count_i`` for every buyer and
  every distinct path prefix that matters; ``Σ_i y_i(n) ≤ μ(t)`` for every node.
* ``z`` ([P] of the slides): the remaining purchase opportunity ``y_i(n) + z_i(n) ≤ z_i(parent)``.

Only the pairs (i, n) with v_i(n) > 0 and μ(t(n)) > 0 get a variable: a buyer never buys at a
non-positive value in an optimum, so the optimum value is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from treemarket.solvers import LinearProgram, Start
from treemarket.ttp.equilibrium import best_response
from treemarket.ttp.model import TTPModel

FORMULATIONS = ("path", "z")
# the largest objective coefficient where node probabilities go below SMALL_PROBABILITY (else
# 1). HiGHS's dual feasibility tolerance (1e-10) is absolute: with coefficients up to 1, L(p)
# at the LP's duals exceeded the LP optimum by 7e-9 (relative) on markov_paths at 10^5 pairs;
# with coefficients up to 1e3, by 6e-12, and the LP solved faster. Elsewhere L(p) meets the
# LP optimum to 1e-15 either way, and HiGHS's MIP was slower on buyer_types (83 s, not 23 s);
# 1e6 made some LPs slower (benchmarks/README.md)
LARGEST_COST = 1e3
SMALL_PROBABILITY = 1e-6


@dataclass
class Formulation:
    """A built program and the maps between it and the model, both ways: columns back to
    (buyer, node) (:meth:`assignment`), an assignment and prices forward to a primal-dual
    starting point (:meth:`start`)."""

    model: TTPModel
    lp: LinearProgram
    kind: str
    col_buyer: NDArray[np.int64]
    col_node: NDArray[np.int64]
    n_y: int  # the first n_y columns are y_i(n); the rest (z form) are z_i(n)
    scale: float  # objective coefficients were divided by this
    supply_nodes: NDArray[np.int64] | None = None  # the node of each supply row (rows first)
    n_integer: int = 0  # the first n_integer columns (y, and z in the z form) are integer;
    # the stock columns of carry-over come last and are continuous

    def assignment(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """y as a dense (I, N) matrix from a solution vector."""
        y = np.zeros(self.model.values.shape, dtype=np.float64)
        y[self.col_buyer, self.col_node] = x[: self.n_y]
        return y

    def start(self, y: NDArray[np.float64], price: NDArray[np.float64]) -> tuple[Start, bool]:
        """A primal-dual starting point for [P1] in the path formulation from an assignment
        ``y`` and node prices p (the market solver's).

        The primal point is ``y``. The duals: P(n) p(n) / scale on the supply row of node n,
        and on buyer i's path rows the martingale part of her value W_i at p,
        M(root) = W(root), M(n) = M(parent) + W(n) − E[W(n) | parent], weighted by the
        leaves' probabilities (a leaf's weight goes to the row of the deepest candidate on its
        path). Since E[M | n] = M(n) ≥ W(n) ≥ v(n) − p(n), these duals are feasible (a
        positive reduced cost remains only where a column's bound replaced its one-variable
        path row) and their objective is at most the Lagrangian bound L(p). Returns the
        start and whether its primal point is feasible.
        """
        if self.kind != "path" or self.model.carry_over:
            raise ValueError("a start needs the path formulation and a model without carry_over")
        model, lp, tree = self.model, self.lp, self.model.tree
        x = y[self.col_buyer, self.col_node].astype(np.float64)
        supply = self.supply_nodes if self.supply_nodes is not None else np.zeros(0, np.int64)
        n_supply = supply.shape[0]
        row_duals = np.zeros(lp.n_rows)
        row_duals[:n_supply] = tree.prob[supply] * price[supply] / self.scale
        br = best_response(model, price)
        martingale = np.zeros_like(br.value)
        roots = tree.level(0)
        martingale[:, roots] = br.value[:, roots]
        for t in range(1, tree.horizon + 1):
            level = tree.level(t)
            parent = tree.parent[level]
            martingale[:, level] = martingale[:, parent] + br.value[:, level] - br.option[:, parent]
        leaves = tree.level(tree.horizon)
        weight = martingale[:, leaves] * tree.prob[leaves][None, :] / self.scale  # (I, L)
        paths = sp.csr_array(lp.A[n_supply:])
        if paths.shape[0]:
            row_of_col = np.full(lp.n_cols, -1, dtype=np.int64)
            row_of_col[np.maximum.reduceat(paths.indices, paths.indptr[:-1])] = np.arange(
                paths.shape[0]
            )
            colindex = np.full(model.values.shape, -1, dtype=np.int64)
            colindex[self.col_buyer, self.col_node] = np.arange(self.n_y)
            deepest = colindex.copy()  # the column of the deepest candidate at or above a node
            for t in range(1, tree.horizon + 1):
                level = tree.level(t)
                above = deepest[:, tree.parent[level]]
                deepest[:, level] = np.where(deepest[:, level] >= 0, deepest[:, level], above)
            deepest = deepest[:, leaves]  # (I, L)
            rows = np.where(deepest >= 0, row_of_col[np.maximum(deepest, 0)], -1)
            on_row = rows >= 0
            row_duals[n_supply:] = np.bincount(
                rows[on_row], weights=weight[on_row], minlength=paths.shape[0]
            )
        slack = lp.row_upper - lp.A @ x
        feasible = bool(
            np.all(x >= lp.col_lower - 1e-9)
            and np.all(x <= lp.col_upper + 1e-9)
            and np.all(slack >= -1e-9)
        )
        return Start(x, row_duals), feasible


def candidate_mask(model: TTPModel, closed_markets: bool = False) -> NDArray[np.bool_]:
    """(I, N) mask of the pairs that may buy: v_i(n) > 0, i present, count_i > 0, μ(t(n)) > 0.

    With ``closed_markets`` the nodes with μ(t) = 0 are kept: nobody buys there, but their
    prices must still keep every buyer out (ψ_i + p ≥ v_i).
    """
    if closed_markets:
        return (model.values > 0) & model.present & (model.counts[:, None] > 0)
    return (model.values > 0) & model.can_buy


def subtree_mask(model: TTPModel, mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """(I, N): does buyer i have a candidate at n or anywhere below n?"""
    tree = model.tree
    out = mask.copy()
    for t in range(tree.horizon - 1, -1, -1):
        below, here = tree.level(t + 1), tree.level(t)
        starts = tree.child_start[here] - below.start
        out[:, here] |= np.logical_or.reduceat(out[:, below], starts, axis=1)
    return out


def tree_has_tiny_nodes(model: TTPModel, threshold: float = SMALL_PROBABILITY) -> bool:
    """Are some node probabilities small enough for the solver's tolerances to blur them?"""
    return bool(model.tree.prob.min() < threshold)


def build(
    model: TTPModel,
    kind: str = "path",
    integer: bool = True,
    every_supply_row: bool = False,
    columns: NDArray[np.bool_] | None = None,
) -> Formulation:
    """Build [P0] (``integer=True``) or [P1] in formulation ``kind``.

    Supply rows that cannot bind are left out unless ``every_supply_row`` (the schedule needs
    them all, with μ(t) a variable). ``columns`` ((I, N) mask) restricts the program to those
    pairs (y_i(n) = 0 elsewhere): a restricted problem whose optimum is feasible for the whole.
    """
    if kind not in FORMULATIONS:
        raise ValueError(f"unknown formulation {kind!r}; choose from {FORMULATIONS}")
    mask = candidate_mask(model)
    if columns is not None:
        mask &= columns
    col_buyer, col_node = np.nonzero(mask)
    col_buyer = col_buyer.astype(np.int64)
    col_node = col_node.astype(np.int64)
    n_y = col_buyer.shape[0]
    weight = model.tree.prob[col_node] * model.values[col_buyer, col_node]
    largest = LARGEST_COST if tree_has_tiny_nodes(model) else 1.0
    scale = float(weight.max()) / largest if n_y else 1.0
    colindex = np.full(mask.shape, -1, dtype=np.int64)
    colindex[col_buyer, col_node] = np.arange(n_y)

    if kind == "path":
        opp_rows, opp_lo, opp_up = _path_rows(model, colindex)
        n_cols = n_y
        c = weight / scale
    else:
        opp_rows, opp_lo, opp_up, n_z = _z_rows(model, mask, colindex)
        n_cols = n_y + n_z
        c = np.concatenate([weight / scale, np.zeros(n_z)])
    n_integer = n_cols
    if model.carry_over:
        supply_rows, supply_lo, supply_up = _stock_rows(model, col_node, n_cols)
        supply_nodes = np.arange(model.tree.n_nodes)
        n_stock = model.tree.n_nodes
        c = np.concatenate([c, np.zeros(n_stock)])
        opp_rows = sp.hstack([opp_rows, sp.csr_array((opp_rows.shape[0], n_stock))])
        n_cols += n_stock
    else:
        supply_rows, supply_up, supply_nodes = _supply_rows(
            model, col_node, col_buyer, n_cols, every_node=every_supply_row
        )
        supply_lo = np.full(supply_up.shape[0], -np.inf)
    A = sp.csc_array(sp.vstack([supply_rows, opp_rows], format="csc"))
    row_lower = np.concatenate([supply_lo, opp_lo])
    row_upper = np.concatenate([supply_up, opp_up])
    col_upper = np.concatenate([model.counts[col_buyer], np.full(n_cols - n_y, np.inf)]).astype(
        np.float64
    )
    if kind == "z":
        z_upper = _z_upper(model, mask)
        col_upper[n_y : n_y + z_upper.shape[0]] = z_upper
    lp = LinearProgram(
        c=c,
        A=A,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=np.zeros(n_cols),
        col_upper=col_upper,
        integrality=np.ones(n_cols, dtype=bool) if integer else None,
        maximize=True,
    )
    return Formulation(model, lp, kind, col_buyer, col_node, n_y, scale, supply_nodes, n_integer)


def _supply_rows(
    model: TTPModel,
    col_node: NDArray[np.int64],
    col_buyer: NDArray[np.int64],
    n_cols: int,
    every_node: bool = False,
) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.int64]]:
    """Σ_i y_i(n) ≤ μ(t(n)) for the nodes where the candidates could exceed the supply."""
    demand = np.bincount(col_node, weights=model.counts[col_buyer], minlength=model.tree.n_nodes)
    binding = demand > (0 if every_node else model.node_supply)
    nodes = np.nonzero(binding)[0]
    row_of_node = np.full(model.tree.n_nodes, -1, dtype=np.int64)
    row_of_node[nodes] = np.arange(nodes.shape[0])
    keep = row_of_node[col_node] >= 0
    rows = row_of_node[col_node[keep]]
    cols = np.arange(col_node.shape[0], dtype=np.int64)[keep]
    A = sp.csr_array((np.ones(rows.shape[0]), (rows, cols)), shape=(nodes.shape[0], n_cols))
    return A, model.node_supply[nodes].astype(np.float64), nodes.astype(np.int64)


def _stock_rows(
    model: TTPModel, col_node: NDArray[np.int64], n_cols: int
) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.float64]]:
    """Carry-over: Σ_i y_i(n) + s(n) − s(parent(n)) = μ(t(n)) with a stock s(n) ≥ 0 per node.

    The stock columns are the last N columns (after ``n_cols`` others).
    """
    n_nodes = model.tree.n_nodes
    n_y = col_node.shape[0]
    rows = [col_node, np.arange(n_nodes)]
    cols = [np.arange(n_y), n_cols + np.arange(n_nodes)]
    vals = [np.ones(n_y), np.ones(n_nodes)]
    child = np.nonzero(model.tree.parent >= 0)[0]
    rows.append(child)
    cols.append(n_cols + model.tree.parent[child])
    vals.append(-np.ones(child.shape[0]))
    A = sp.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_nodes, n_cols + n_nodes),
    )
    mu = model.node_supply.astype(np.float64)
    return A, mu, mu


def _path_rows(
    model: TTPModel, colindex: NDArray[np.int64]
) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.float64]]:
    """One row Σ y_i(n) ≤ count_i per buyer and distinct deepest candidate on a path.

    Two leaves whose paths have the same deepest candidate of buyer i give the same row, and a
    row with a single variable is just that variable's bound; both are dropped.
    """
    tree = model.tree
    anc = tree.ancestors  # (L, T+1)
    n_buyers = colindex.shape[0]
    depth = anc.shape[1]
    rows_cols: list[NDArray[np.int64]] = []
    rows_len: list[NDArray[np.int64]] = []
    rows_buyer: list[NDArray[np.int64]] = []
    # chunks of buyers bound the (chunk, L, T+1) intermediate
    chunk = max(1, int(2_000_000 // max(1, anc.size)))
    for lo in range(0, n_buyers, chunk):
        cols = colindex[lo : lo + chunk][:, anc]  # (b, L, T+1)
        has = cols >= 0
        count = has.sum(axis=2)
        deepest = depth - 1 - np.argmax(has[:, :, ::-1], axis=2)
        b_idx, l_idx = np.nonzero(count >= 2)
        if b_idx.size == 0:
            continue
        key = cols[b_idx, l_idx, deepest[b_idx, l_idx]]
        _, first = np.unique(key, return_index=True)
        b_idx, l_idx = b_idx[first], l_idx[first]
        entries = cols[b_idx, l_idx]  # (R, T+1)
        keep = entries >= 0
        rows_cols.append(entries[keep])
        rows_len.append(keep.sum(axis=1))
        rows_buyer.append(b_idx + lo)
    n_y = int(colindex.max()) + 1 if colindex.size else 0
    if not rows_cols:
        return sp.csr_array((0, n_y)), np.zeros(0), np.zeros(0)
    indices = np.concatenate(rows_cols)
    lengths = np.concatenate(rows_len)
    buyers = np.concatenate(rows_buyer)
    indptr = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    A = sp.csr_array((np.ones(indices.shape[0]), indices, indptr), shape=(lengths.shape[0], n_y))
    up = model.counts[buyers].astype(np.float64)
    return A, np.full(up.shape[0], -np.inf), up


def _z_index(model: TTPModel, mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """(I, N_inner) index of z_i(n) among the z variables, -1 where no candidate lies below n."""
    tree = model.tree
    inner = int(tree.level_offsets[-2])
    sub = subtree_mask(model, mask)
    below = np.zeros((mask.shape[0], inner), dtype=bool)
    if inner:
        start = int(tree.level_offsets[1])
        below = np.logical_or.reduceat(sub[:, start:], tree.child_start - start, axis=1)[:, :inner]
    zindex = np.full(below.shape, -1, dtype=np.int64)
    zindex[below] = np.arange(int(below.sum()))
    return zindex


def _z_upper(model: TTPModel, mask: NDArray[np.bool_]) -> NDArray[np.float64]:
    zindex = _z_index(model, mask)
    buyers = np.nonzero(zindex >= 0)[0]
    return model.counts[buyers].astype(np.float64)


def _z_rows(
    model: TTPModel, mask: NDArray[np.bool_], colindex: NDArray[np.int64]
) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.float64], int]:
    """y_i(n) + z_i(n) − z_i(parent(n)) ≤ 0 (≤ count_i at time 0) where y or z exists."""
    tree = model.tree
    n_y = int(mask.sum())
    zindex = _z_index(model, mask)
    n_z = int((zindex >= 0).sum())
    n_buyers, n_nodes = mask.shape
    inner = zindex.shape[1]
    zfull = np.full((n_buyers, n_nodes), -1, dtype=np.int64)
    zfull[:, :inner] = zindex
    exists = (colindex >= 0) | (zfull >= 0)
    b, n = np.nonzero(exists)
    n_rows = b.shape[0]
    row = np.arange(n_rows, dtype=np.int64)
    ri, ci, vi = [], [], []
    has_y = colindex[b, n] >= 0
    ri.append(row[has_y])
    ci.append(colindex[b, n][has_y])
    vi.append(np.ones(int(has_y.sum())))
    has_z = zfull[b, n] >= 0
    ri.append(row[has_z])
    ci.append(n_y + zfull[b, n][has_z])
    vi.append(np.ones(int(has_z.sum())))
    par = tree.parent[n]
    has_parent = par >= 0
    pz = np.full(n_rows, -1, dtype=np.int64)
    pz[has_parent] = zfull[b[has_parent], par[has_parent]]
    linked = pz >= 0
    ri.append(row[linked])
    ci.append(n_y + pz[linked])
    vi.append(-np.ones(int(linked.sum())))
    A = sp.csr_array(
        (np.concatenate(vi), (np.concatenate(ri), np.concatenate(ci))), shape=(n_rows, n_y + n_z)
    )
    up = np.where(has_parent, 0.0, model.counts[b].astype(np.float64))
    return A, np.full(n_rows, -np.inf), up, n_z
