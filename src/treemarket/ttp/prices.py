"""Market prices p(t, ω) and option values ψ_i(t, ω) that support an assignment.

The optimality system of [P] (per-node units, i.e. not multiplied by the node's probability):

* ``ψ_i(n) + p(n) ≥ v_i(n)``, with equality where ``y_i(n) > 0``   (buy only at v − p = ψ)
* ``ψ_i(n) ≥ E[ψ_i(children) | n]``, equality where ``z_i(n) > 0`` (waiting pays its option value)
* ``ψ_i(n) = 0`` where the buyer's opportunity is left unused at the end of a path
* ``p(n) = 0`` where supply is left unsold; ``p, ψ ≥ 0``. With carry-over instead
  ``p(n) ≥ E[p(children) | n]``, with equality where permits are carried over, and p = 0 at a
  leaf with permits left.

For an optimal assignment of [P1] these conditions describe exactly the optimal dual face, so
optimizing each p(n) over them gives the range of market-clearing prices that support it. When
the LP relaxation is fractional, no prices satisfy them for the integer optimum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from treemarket.errors import SolverError
from treemarket.solvers import LinearProgram, Solver, get_solver
from treemarket.solvers.base import SolveOptions, SolverSession
from treemarket.ttp.formulation import candidate_mask, subtree_mask
from treemarket.ttp.model import TTPModel

POSITIVE = 1e-7  # an LP value above this counts as positive (sold, held, bought)
TOLERANCES = (1e-9, 1e-7)  # feasibility tolerances tried for the supporting prices
ZERO_PRICE = 1e-9  # the smallest tolerance of a zero price, relative to the largest value


class OutOfTime(SolverError):
    """The time limit of a :class:`SupportLP` ran out before its LP was solved: nothing is
    known about the prices (not that none exist)."""


@dataclass
class PriceSystem:
    """One complete set of prices and option values, per node (shape (N,) and (I, N))."""

    price: NDArray[np.float64]
    option_value: NDArray[np.float64]  # ψ_i(n): value of still being in the market at n

    def revenue(self, model: TTPModel, y: NDArray[np.float64]) -> float:
        """Expected seller revenue E[Σ_t p(t) Σ_i y_i(t)]."""
        return float(np.sum(model.tree.prob * self.price * y.sum(axis=0)))


@dataclass
class PriceRanges:
    """Per node, the lowest and highest supporting price (``inf`` where any price clears)."""

    low: NDArray[np.float64]
    high: NDArray[np.float64]


def remaining_opportunity(model: TTPModel, y: NDArray[np.float64]) -> NDArray[np.float64]:
    """z_i(n) = count_i − Σ_{m ≤ n on the path} y_i(m): purchase opportunity left after n."""
    return model.counts[:, None] - model.tree.path_sum(y)


def revenue_weight(model: TTPModel, y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Expected revenue per unit price at each node: P(n) × units sold there."""
    return model.tree.prob * np.maximum(y, 0).sum(axis=0)


def extreme_prices(
    model: TTPModel, y: NDArray[np.float64], maximize: bool, solver: Solver | None = None
) -> PriceSystem | None:
    """The supporting prices of ``y`` with the lowest (or highest) expected revenue
    E[Σ_t p(t) Σ_i y_i(t)]; None when no prices support ``y``."""
    return SupportLP(model, y, solver).price_system(revenue_weight(model, y), maximize)


class SupportLP:
    """The linear system of the optimality conditions for a fixed assignment ``y``.

    Columns: p(n) for every node, then ψ_i(n) for the pairs where buyer i has a candidate at or
    below n (elsewhere ψ = 0 is always consistent and does not restrict p).
    """

    def __init__(
        self,
        model: TTPModel,
        y: NDArray[np.float64],
        solver: Solver | None = None,
        time_limit: float = np.inf,
    ) -> None:
        self.model = model
        self.deadline = time.perf_counter() + time_limit  # every LP of this system stops there
        self.y = y
        self.solver = solver or get_solver("highs")
        tree = model.tree
        n_nodes = tree.n_nodes
        mask = candidate_mask(model, closed_markets=True)
        sub = subtree_mask(model, mask)
        self.psi_buyer, self.psi_node = (a.astype(np.int64) for a in np.nonzero(sub))
        n_psi = self.psi_buyer.shape[0]
        psi_index = np.full(sub.shape, -1, dtype=np.int64)
        psi_index[self.psi_buyer, self.psi_node] = n_nodes + np.arange(n_psi)
        n_cols = n_nodes + n_psi
        values = model.values
        z = remaining_opportunity(model, y)

        # (a) ψ_i(n) + p(n) ≥ v_i(n) for every candidate; equality where bought.
        cb, cn = np.nonzero(mask)
        na = cb.shape[0]
        rows_a = np.repeat(np.arange(na), 2)
        cols_a = np.column_stack([cn, psi_index[cb, cn]]).ravel()
        lo_a = values[cb, cn]
        up_a = np.where(y[cb, cn] > POSITIVE, lo_a, np.inf)

        # (b) ψ_i(n) − Σ_c P(c | n) ψ_i(c) ≥ 0 at inner nodes; equality where the buyer waits.
        inner = int(tree.level_offsets[-2])
        has_parent = self.psi_node >= int(tree.level_offsets[1])
        child_b = self.psi_buyer[has_parent]
        child_n = self.psi_node[has_parent]
        par_n = tree.parent[child_n]
        parent_col = psi_index[child_b, par_n]
        inner_pairs = self.psi_node < inner
        row_of_pair = np.full(n_psi, -1, dtype=np.int64)
        row_of_pair[inner_pairs] = np.arange(int(inner_pairs.sum()))
        nb = int(inner_pairs.sum())
        pb, pn = self.psi_buyer[inner_pairs], self.psi_node[inner_pairs]
        rows_b = np.concatenate([np.arange(nb), row_of_pair[parent_col - n_nodes]])
        cols_b = np.concatenate([psi_index[pb, pn], psi_index[child_b, child_n]])
        vals_b = np.concatenate([np.ones(nb), -tree.cond_prob[child_n]])
        up_b = np.where(z[pb, pn] > POSITIVE, 0.0, np.inf)

        blocks = [
            sp.csr_array((np.ones(2 * na), (rows_a, cols_a)), shape=(na, n_cols)),
            sp.csr_array((vals_b, (rows_b, cols_b)), shape=(nb, n_cols)),
        ]
        lower, upper = [lo_a, np.zeros(nb)], [up_a, up_b]
        # (c) ψ = 0 where a leaf's opportunity is unused; (d) p = 0 where supply is unsold.
        col_upper = np.full(n_cols, np.inf)
        stock = model.stock(y)
        if model.carry_over:
            # (d') p(n) ≥ E[p(children) | n]: nobody would sell now what is worth more later;
            # equality where permits are carried over; p = 0 at a leaf with permits left.
            kids = np.arange(int(tree.level_offsets[1]), n_nodes)
            blocks.append(
                sp.csr_array(
                    (
                        np.concatenate([np.ones(inner), -tree.cond_prob[kids]]),
                        (
                            np.concatenate([np.arange(inner), tree.parent[kids]]),
                            np.concatenate([np.arange(inner), kids]),
                        ),
                    ),
                    shape=(inner, n_cols),
                )
            )
            lower.append(np.zeros(inner))
            upper.append(np.where(stock[:inner] > POSITIVE, 0.0, np.inf))
            leaves = tree.leaves
            col_upper[leaves[stock[leaves] > POSITIVE]] = 0.0
        else:
            col_upper[:n_nodes][stock > POSITIVE] = 0.0
        leaf_pair = self.psi_node >= inner
        unused = z[self.psi_buyer, self.psi_node] > POSITIVE
        col_upper[n_nodes:][leaf_pair & unused] = 0.0
        A = sp.vstack(blocks, format="csc")
        self.lp = LinearProgram(
            c=np.zeros(n_cols),
            A=sp.csc_array(A),
            row_lower=np.concatenate(lower),
            row_upper=np.concatenate(upper),
            col_lower=np.zeros(n_cols),
            col_upper=col_upper,
            maximize=False,
        )
        self.n_nodes = n_nodes
        self.tolerance = TOLERANCES[0]
        self._session: SolverSession | None = None
        self.solves = 0  # LPs solved so far

    def _solve(self, c: NDArray[np.float64], maximize: bool):
        self.solves += 1
        if self._session is None:
            left = max(0.0, self.deadline - time.perf_counter())
            options = SolveOptions(feasibility_tol=self.tolerance, time_limit=left)
            self._session = self.solver.session(self.lp, options)
        return self._session.solve_with_objective(c, maximize)

    def _solve_feasible(self, c: NDArray[np.float64], maximize: bool):
        """:meth:`_solve`, again at the looser tolerance when the system (known to be
        feasible) is found infeasible or the solver fails at the tighter one."""
        sol = self._solve(c, maximize)
        if sol.status in ("error", "infeasible") and self.tolerance < TOLERANCES[-1]:
            self.tolerance, self._session = TOLERANCES[-1], None
            sol = self._solve(c, maximize)
        return sol

    def price_system(self, objective: NDArray[np.float64], maximize: bool) -> PriceSystem | None:
        """The supporting prices optimizing ``objective · p``; None when no prices support y.

        Solved from scratch (a warm start from another objective was slower here), at the
        feasibility tolerance 1e-9 first, then 1e-7 (per-node units): with node probabilities
        near the solver's resolution the system can be feasible at a single point only.
        ``tolerance`` keeps the one that worked. :class:`OutOfTime` when the system's time
        limit ran out first (then nothing is known about the prices).
        """
        c = np.zeros(self.lp.n_cols)
        top = float(np.abs(objective).max()) if objective.size else 0.0
        c[: self.n_nodes] = objective / top if top > 0 else objective
        for tolerance in TOLERANCES:
            self.tolerance, self._session = tolerance, None
            sol = self._solve(c, maximize)
            if sol.status == "optimal" and sol.x is not None:
                return self._system(sol.x)
            if sol.status == "time_limit":
                raise OutOfTime("the supporting prices were not found within the time limit")
        return None

    def feasible(self) -> bool:
        """Do supporting prices exist at all?"""
        return self.price_system(np.zeros(self.n_nodes), False) is not None

    def _system(self, x: NDArray[np.float64]) -> PriceSystem:
        psi = np.zeros((self.model.n_buyers, self.n_nodes))
        psi[self.psi_buyer, self.psi_node] = x[self.n_nodes :]
        # p, ψ ≥ 0: a solver's −1e-10 within its tolerance is 0
        price = np.maximum(x[: self.n_nodes], 0.0) + 0.0
        return PriceSystem(price=price, option_value=np.maximum(psi, 0.0) + 0.0)

    def ranges(self, time_limit: float = np.inf) -> PriceRanges:
        """min and max of every p(n) over the supporting prices; a :class:`SolverError` when
        they take more than ``time_limit`` seconds.

        Since p ≥ 0, a supporting point with p(n) = 0 proves min p(n) = 0, and
        max Σ_{n ∈ S} p(n) = 0 proves max p(n) = 0 for all of S. One LP (min Σ p) and a few
        rounds of max Σ_S p (each dropping from S the nodes it finds positive) settle those
        nodes at once; without carry-over a node where nobody buys and supply is not left
        unsold has no upper price (ψ + p ≥ v are its only rows). The other nodes get one LP
        per side, warm-started from the last.
        """
        own = time.perf_counter() + time_limit
        deadline = min(own, self.deadline)
        late = f"{time_limit:g} s" if own <= self.deadline else "the solve's time limit"
        n = self.n_nodes
        low = np.zeros(n)
        high = np.zeros(n)
        free = np.nonzero(self.lp.col_upper[:n] != 0.0)[0]
        x = self._sum_optimum(free, maximize=False)
        zero = self._zero()
        own_low = free if x is None else free[x[free] > zero]
        group = free
        if not self.model.carry_over:
            unbought = self.y[:, free].sum(axis=0) <= POSITIVE
            high[free[unbought]] = np.inf
            group = free[~unbought]
        own_high: list[NDArray[np.int64]] = []
        while group.size:
            x = self._sum_optimum(group, maximize=True)
            zero = self._zero()
            if x is None:  # unbounded somewhere in the group: one LP per node
                own_high.append(group)
                break
            positive = x[group] > zero
            if not positive.any():
                break
            own_high.append(group[positive])
            group = group[~positive]
        c = np.zeros(self.lp.n_cols)
        for nodes, maximize, out in (
            (own_low, False, low),
            (np.concatenate(own_high) if own_high else free[:0], True, high),
        ):
            for node in nodes.tolist():
                if time.perf_counter() > deadline:
                    raise SolverError(f"not finished within {late}")
                c[node] = 1.0
                out[node] = self._node_optimum(c, node, maximize)
                c[node] = 0.0
        return PriceRanges(low=_clean(low), high=_clean(high))

    def _zero(self) -> float:
        """A price this small is 0: the LP's feasibility tolerance (at least 1e-9) times the
        largest value."""
        largest = float(np.abs(self.model.values).max(initial=0.0))
        return max(ZERO_PRICE, self.tolerance) * max(1.0, largest)

    def _sum_optimum(self, nodes: NDArray[np.int64], maximize: bool) -> NDArray[np.float64] | None:
        """A supporting point optimizing Σ_{n ∈ nodes} p(n); None when it is unbounded."""
        c = np.zeros(self.lp.n_cols)
        c[nodes] = 1.0
        sol = self._solve_feasible(c, maximize)
        if sol.status == "unbounded":
            return None
        if sol.status != "optimal" or sol.x is None:
            raise SolverError(f"the price range LP over {nodes.size} nodes ended {sol.status}")
        return sol.x

    def _node_optimum(self, c: NDArray[np.float64], node: int, maximize: bool) -> float:
        """min or max of p(node) (``c`` its unit vector); inf when unbounded."""
        sol = self._solve_feasible(c, maximize)
        if sol.status == "unbounded":
            return np.inf
        if sol.status != "optimal" or sol.x is None:
            raise SolverError(f"the price range LP at node {node} ended {sol.status}")
        return max(0.0, float(sol.x[node]))


def _clean(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Round away solver noise below 1e-9 relative to the value (keeps inf)."""
    finite = np.isfinite(x)
    out = x.copy()
    r = np.round(out[finite], 9)
    close = np.abs(r - out[finite]) <= 1e-9 * np.maximum(1.0, np.abs(out[finite]))
    out[np.nonzero(finite)[0][close]] = r[close]
    return out
