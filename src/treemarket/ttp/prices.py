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

import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from treemarket.errors import SolverError
from treemarket.scenario import ScenarioTree
from treemarket.solvers import LinearProgram, Solution, Solver, get_solver
from treemarket.solvers.base import SolveOptions, SolverSession
from treemarket.ttp.formulation import candidate_mask, subtree_mask, tree_has_tiny_nodes
from treemarket.ttp.model import TTPModel

POSITIVE = 1e-7  # an LP value above this counts as positive (sold, held, bought)
TOLERANCES = (1e-9, 1e-7)  # feasibility tolerances tried for the supporting prices
#: where node probabilities go below 1e-6 only the looser one: the system was infeasible at
#: 1e-9 on both such families of the zoo (and took 10-56 s to be found so)
TINY_TOLERANCES = (1e-7,)
ZERO_PRICE = 1e-9  # the smallest tolerance of a zero price, relative to the largest value
#: steps 2 and 3 of the price ranges go on while a round settles this share of the open ends
SETTLE_SHARE = 0.1
#: heights of the ancestors whose subtrees bound an end locally (SupportLP.ranges, step 3)
LOCAL_HEIGHTS = (1, 2, 3, 4)
#: the most columns of one local LP (ranges, step 3), and at most this share of the system's
LOCAL_COLUMNS = 9_000
LOCAL_SHARE = 0.25
#: a round of local LPs over fewer subtrees than this takes each one's ends on its own sessions
SESSION_BLOCKS = 3
#: the LPs of the last step of the ranges run on at most this many threads (a session each)
RANGE_THREADS = 4


def range_threads() -> int:
    """Threads for the last step of the price ranges: RANGE_THREADS, or fewer where fewer
    processors are ours."""
    try:
        ours = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        ours = os.cpu_count() or 1
    return max(1, min(RANGE_THREADS, ours))


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
        # with tiny probabilities either simplex method may fail on the system where the other
        # finds it: dual simplex stalled on skewed_probabilities at 10^5 pairs (no prices in
        # 60 s; primal: 12 s), primal declared small ones infeasible (dual: 0.1 s)
        tiny = tree_has_tiny_nodes(model)
        self.tolerances = TINY_TOLERANCES if tiny else TOLERANCES
        self.methods: tuple[Literal["dual", "primal"], ...] = (
            ("primal", "dual") if tiny else ("dual",)
        )
        self.tolerance, self.simplex = self.tolerances[0], self.methods[0]
        self._session: SolverSession | None = None
        self._layout: (
            tuple[sp.csr_array, NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]] | None
        ) = None
        self._by_node: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]] | None = None
        self.solves = 0  # LPs solved so far

    def _solve(self, c: NDArray[np.float64], maximize: bool):
        self.solves += 1
        if self._session is None:
            left = max(0.0, self.deadline - time.perf_counter())
            options = SolveOptions(
                feasibility_tol=self.tolerance, time_limit=left, simplex=self.simplex
            )
            self._session = self.solver.session(self.lp, options)
        return self._session.solve_with_objective(c, maximize)

    def _solve_feasible(self, c: NDArray[np.float64], maximize: bool):
        """:meth:`_solve`, again at the looser tolerance when the system (known to be
        feasible) is found infeasible or the solver fails at the tighter one."""
        sol = self._solve(c, maximize)
        if sol.status in ("error", "infeasible") and self.tolerance < self.tolerances[-1]:
            self.tolerance, self._session = self.tolerances[-1], None
            sol = self._solve(c, maximize)
        return sol

    def price_system(
        self,
        objective: NDArray[np.float64],
        maximize: bool,
        accept: Callable[[PriceSystem], bool] | None = None,
    ) -> PriceSystem | None:
        """The supporting prices optimizing ``objective · p``; None when no prices support y.

        Solved from scratch (a warm start from another objective was slower here), at the
        feasibility tolerance 1e-9 first, then 1e-7 (per-node units): with node probabilities
        near the solver's resolution the system can be feasible at a single point only. Where
        they go below 1e-6, at 1e-7 alone, by primal simplex, then by dual simplex. With
        ``accept``, the first system it accepts (the next tolerance or method is tried after
        one it rejects), else the last one found.
        ``tolerance`` keeps the one that worked. :class:`OutOfTime` when the system's time
        limit ran out first (then nothing is known about the prices).
        """
        c = np.zeros(self.lp.n_cols)
        top = float(np.abs(objective).max()) if objective.size else 0.0
        c[: self.n_nodes] = objective / top if top > 0 else objective
        rejected = None
        for tolerance in self.tolerances:
            for simplex in self.methods:
                self.tolerance, self.simplex, self._session = tolerance, simplex, None
                sol = self._solve(c, maximize)
                if sol.status == "optimal" and sol.x is not None:
                    system = self._system(sol.x)
                    if accept is None or accept(system):
                        return system
                    rejected = (system, tolerance)
                if sol.status == "time_limit":
                    raise OutOfTime("the supporting prices were not found within the time limit")
        if rejected is None:
            return None
        system, self.tolerance = rejected
        return system

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

        Each end is settled by a proof, cheapest first (:class:`_Ends` keeps the score):

        1. ends fixed by the system: p = 0 where supply is unsold; no upper price where nobody
           buys (without carry-over, ψ + p ≥ v are then the node's only rows);
        2. supporting vertices maximizing Σ (open highs) − Σ (open lows), while a round settles
           a tenth of the open ends, each for less than step 4 would (:meth:`_vertex_rounds`):
           at each, the solver's cost ranging proves which p(n) the vertex maximizes or
           minimizes (``vertex_extremes`` of the session);
        3. local relaxations (:meth:`_local_bounds`): the system on the subtree of an ancestor,
           without the rows that tie it to the rest, bounds p(n); an end some supporting point
           reaches to within the tolerance is proven. Besides the vertices, the supporting
           points include restrictions (:meth:`_reach_locally`): the last vertex re-optimized
           on the subtree and the path above it only;
        4. one LP per end left, over the whole system, on up to RANGE_THREADS threads
           (:meth:`_single_ends`).
        """
        own = time.perf_counter() + time_limit
        late = f"{time_limit:g} s" if own <= self.deadline else "the solve's time limit"
        # the LPs go on from the last basis (that of the supporting prices, where they were
        # just found): the time limit is checked between them
        try:
            return self._ranges(min(own, self.deadline), late)
        except OutOfTime as error:
            raise SolverError(f"not finished within {late}") from error

    def _ranges(self, deadline: float, late: str) -> PriceRanges:
        """:meth:`ranges` up to ``deadline``."""
        n = self.n_nodes
        ends = _Ends(n, self._zero())
        fixed = self.lp.col_upper[:n] == 0.0
        ends.settle_low(fixed, 0.0)
        ends.settle_high(fixed, 0.0)
        if not self.model.carry_over:
            unbought = self.y.sum(axis=0) <= POSITIVE
            ends.settle_high(unbought & ~fixed, np.inf)
        self._vertex_rounds(ends, deadline)
        for height in LOCAL_HEIGHTS:
            left = ends.open_count
            if ends.done or time.perf_counter() > deadline:
                break
            self._local_bounds(ends, height, deadline)
            if ends.open_count > (1.0 - SETTLE_SHARE) * left:
                break
        self._single_ends(ends, deadline, late)
        # p ≥ 0: a solver's −1e-12 within its tolerance is 0
        return PriceRanges(
            low=_clean(np.maximum(ends.low, 0.0) + 0.0),
            high=_clean(np.maximum(ends.high, 0.0) + 0.0),
        )

    def _single_ends(self, ends: _Ends, deadline: float, late: str) -> None:
        """Step 4 of :meth:`ranges`: one LP over the whole system for every end still open,
        on up to RANGE_THREADS threads, each with a fork of the session (where the backend
        can fork it). Every optimum is a supporting point: it settles the ends whose bound it
        meets, and those are not solved again."""
        nodes, is_high = ends.open_pairs(untried_only=False)
        queue = deque(zip(nodes.tolist(), is_high.tolist(), strict=True))

        def next_end() -> tuple[int, bool] | None:
            while queue:
                node, maximize = queue.popleft()
                if (ends.high_open if maximize else ends.low_open)[node]:
                    return node, maximize
            return None  # the others met their bounds at earlier ends' optima

        def go_on() -> None:
            """Past the deadline, an error while an end is left open."""
            if time.perf_counter() > deadline and any(
                (ends.high_open if maximize else ends.low_open)[node] for node, maximize in queue
            ):
                raise SolverError(f"not finished within {late}")

        threads = range_threads()
        forks: list[SolverSession] = []
        many = threads > 1 and len(queue) >= 2 * threads
        if many and self._session is None and (end := next_end()) is not None:
            # a failed LP dropped the session: the first end makes a new one to fork
            self._one_end(ends, *end)
            go_on()
        if many and self._session is not None:
            forks = [f for f in (self._session.fork() for _ in range(threads)) if f is not None]
        if len(forks) < 2:
            while (end := next_end()) is not None:
                self._one_end(ends, *end)
                go_on()
            return

        def solve(session: SolverSession, node: int, maximize: bool) -> Solution:
            return session.solve_with_objective(self._unit(node), maximize)

        with ThreadPoolExecutor(len(forks)) as pool:
            running: dict[Future[Solution], tuple[SolverSession, int, bool]] = {}

            def start(session: SolverSession) -> None:
                end = next_end()
                if end is not None:
                    running[pool.submit(solve, session, *end)] = (session, *end)

            for session in forks:
                start(session)
            try:
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        session, node, maximize = running.pop(future)
                        self.solves += 1
                        found = self._end_value(future.result(), node, ends)
                        if found is None:  # no supporting point: again as the serial step would
                            self._one_end(ends, node, maximize)
                        else:
                            _settle_end(ends, node, maximize, found)
                        go_on()
                        start(session)
            finally:
                queue.clear()  # on an error, the LPs running finish and no other starts

    def _vertex_rounds(self, ends: _Ends, deadline: float) -> None:
        """Step 2 of :meth:`ranges`: supporting vertices maximizing Σ (open highs) − Σ (open
        lows), each settling the ends its cost ranging proves, while a round settles
        SETTLE_SHARE of the open ends, and settles an end for less than step 4 would.

        Step 4's price is one end's LP over the whole system, timed on a fork of the session
        (from its last optimum, as on step 4's threads, whose number divides it): after the
        first round, then after every round that comes within half of it. Such an LP settles
        its end (and those whose bound its optimum meets). Without forks, the share alone."""
        n = self.n_nodes
        sense = np.zeros(self.lp.n_cols)
        highs = 1.0  # 0 once the sum over the open highs is unbounded: the lows alone then
        timer: SolverSession | None = None  # forked after the first round
        single: list[float] = []  # seconds of the LPs timed
        while not ends.done:
            left = ends.open_count
            sense[:n] = highs * ends.high_open - 1.0 * ends.low_open
            start = time.perf_counter()
            outcome = self._harvest(sense, ends)
            spent = time.perf_counter() - start
            if outcome == "unbounded" and highs and ends.low_open.any():
                highs = 0.0
                continue
            if outcome != "proven" or ends.done or time.perf_counter() > deadline:
                return
            if timer is None and self._session is not None:
                timer = self._session.fork()
            settled = left - ends.open_count
            if ends.open_count > (1.0 - SETTLE_SHARE) * left:
                return
            per_end = spent * range_threads() / max(settled, 1)
            if timer is not None and (not single or 2.0 * per_end > float(np.mean(single))):
                nodes, high = ends.open_pairs(untried_only=False)
                node, maximize = int(nodes[0]), bool(high[0])
                start = time.perf_counter()
                sol = timer.solve_with_objective(self._unit(node), maximize)
                single.append(time.perf_counter() - start)
                self.solves += 1
                found = self._end_value(sol, node, ends)
                if found is not None:
                    _settle_end(ends, node, maximize, found)
            if single and per_end > float(np.mean(single)):
                return

    def _one_end(self, ends: _Ends, node: int, maximize: bool) -> None:
        """Settle one end by its own LP over the whole system (on the session), and the ends
        whose bound its optimum meets."""
        value = self._node_optimum(self._unit(node), node, maximize, ends)
        _settle_end(ends, node, maximize, value)

    def _unit(self, node: int) -> NDArray[np.float64]:
        """The objective p(``node``) over the system's columns."""
        c = np.zeros(self.lp.n_cols)
        c[node] = 1.0
        return c

    def _harvest(self, sense: NDArray[np.float64], ends: _Ends) -> str:
        """A supporting vertex maximizing ``sense · x``: the ends it provably attains are
        settled, and every p(n) it reaches is kept as reached. Returns "proven", "unbounded",
        or "stop" (the backend failed or cannot prove extremes, or its vertex is off the
        system)."""
        sol = self._solve_feasible(sense, maximize=True)
        if sol.status == "unbounded":
            return "unbounded"
        if sol.status == "time_limit":
            raise OutOfTime("the price range LP ran out of time")
        if sol.status != "optimal" or sol.x is None:
            # the system is feasible: the solver failed (tiny probabilities); the ends stay
            # open for the later steps, which start from scratch
            self._session = None
            return "stop"
        assert self._session is not None
        proven = self._session.vertex_extremes()
        x = sol.x if proven is None else proven[0]
        if _violation(self.lp, x) > self._zero():  # not a supporting point after all
            return "stop"
        ends.reach(x[: self.n_nodes])
        ends.point = x
        if proven is None:
            return "stop"
        _, minimizes, maximizes = proven
        n = self.n_nodes
        low = minimizes[:n] & ends.low_open
        high = maximizes[:n] & ends.high_open
        ends.settle_low(low, x[:n][low])
        ends.settle_high(high, x[:n][high])
        return "proven"

    def _local_bounds(self, ends: _Ends, height: int, deadline: float) -> None:
        """Settle open ends of nodes ``height`` levels or more below the top by the relaxation
        on the subtree of their ancestor ``height`` levels up.

        A row of the system ties a node to its children, so the rows whose top node lies in
        subtree(a) involve subtree(a) alone: keeping just those relaxes the system, and its
        min/max of p(n) bound the true ones. Disjoint subtrees are independent blocks of one LP
        whose objective sums one end per block, up to LOCAL_COLUMNS columns an LP (and a
        LOCAL_SHARE of the system's: a larger one costs as much as the LP over the whole
        system); rounds take the next end of each block. Larger subtrees are left to the LPs
        over the whole system.

        Where no supporting point reaches a bound yet, the round moves the last supporting
        vertex on the same blocks (:meth:`_reach_locally`), for as long as such a round settles
        SETTLE_SHARE of its ends at this height. Bounds are kept from height to height
        (``_Ends.bound_low``, ``bound_high``). Where fewer than SESSION_BLOCKS subtrees fit in a
        round (large subtrees), each one's open ends go one after the other through its own
        relaxation and restriction, each a session re-solved per end (:meth:`_local_block`):
        wide_shallow at 10^5 pairs (subtrees of 4,600 columns, two to a round) took 24 s in
        rounds, 7 s so (benchmarks/README.md).
        """
        tree = self.model.tree
        n = self.n_nodes
        A, col_node, row_top, size = self._subtrees()
        cap = 2.0 * max(1.0, float(np.abs(self.model.values).max(initial=0.0)))
        tolerance = self._zero()
        root = np.arange(n)
        deep = tree.time >= height
        for _ in range(height):
            root[deep] = tree.parent[root[deep]]
        most = min(LOCAL_COLUMNS, int(LOCAL_SHARE * self.lp.n_cols))
        deep &= size[root] <= most
        ends.tried[:] = False
        reaching = ends.point is not None  # while restrictions settle enough ends
        while not ends.done and time.perf_counter() < deadline:
            node, maximize = ends.open_pairs()
            keep = deep[node]
            node, maximize = node[keep], maximize[keep]
            if node.size == 0:
                return
            # one end per subtree, subtrees pairwise disjoint (scenario intervals), at most
            # `most` columns in all
            order = np.lexsort((node, root[node]))
            node, maximize = node[order], maximize[order]
            first = np.r_[True, root[node][1:] != root[node][:-1]]
            node, maximize = node[first], maximize[first]
            top = root[node]
            start, stop = tree.event_start[top], tree.event_stop[top]
            chosen = np.zeros(top.size, dtype=bool)
            reach, total = -1, 0
            for k in np.lexsort((tree.time[top], start)).tolist():
                if start[k] >= reach and (total == 0 or total + size[top[k]] <= most):
                    chosen[k], reach, total = True, int(stop[k]), total + int(size[top[k]])
            node, maximize, top = node[chosen], maximize[chosen], top[chosen]
            left = max(0.0, deadline - time.perf_counter())
            options = SolveOptions(feasibility_tol=self.tolerance, time_limit=left)
            if top.size < SESSION_BLOCKS:
                # few subtrees fit: every open end of each, one after the other, on sessions
                for block in top.tolist():
                    mine, high = ends.open_pairs()
                    keep = deep[mine] & (root[mine] == block)
                    reaching = self._local_block(
                        ends, block, mine[keep], high[keep], reaching, options
                    )
                continue
            _, _, inside = _blocks(tree, top)
            cols = np.nonzero(inside[col_node])[0]
            rows = np.nonzero(inside[row_top])[0]
            where = np.searchsorted(cols, node)
            relaxed = self._ends_lp(
                cols,
                where,
                maximize,
                cap,
                A[rows][:, cols],
                self.lp.row_lower[rows],
                self.lp.row_upper[rows],
            )
            sol = self.solver.solve(relaxed, options)
            if sol.status != "optimal" or sol.x is None or _violation(relaxed, sol.x) > tolerance:
                ends.give_up(node, maximize)
                continue
            bound = sol.x[where]
            bound[maximize & (bound >= cap * (1.0 - 1e-9))] = np.inf
            ends.bound(node, maximize, bound)
            open_ = ~ends.settle_met(node, maximize)
            if reaching and open_.any():
                # no supporting point reached the bound yet: move the last vertex there
                self._reach_locally(ends, top[open_], node[open_], maximize[open_], cap, options)
                met = ends.settle_met(node[open_], maximize[open_])
                reaching = met.mean() >= SETTLE_SHARE
                open_[open_] = ~met
            ends.give_up(node[open_], maximize[open_])

    def _reach_locally(
        self,
        ends: _Ends,
        top: NDArray[np.int64],
        node: NDArray[np.int64],
        maximize: NDArray[np.bool_],
        cap: float,
        options: SolveOptions,
    ) -> None:
        """Supporting points that differ from ``ends.point`` only on one subtree and the path
        above it: the end ``node[j]`` is optimized over the columns of subtree(``top[j]``) and
        of its ancestors, every other column kept at ``ends.point``.

        The subtrees are disjoint. Each is one block (:meth:`_restriction`): each block's
        solution, with ``ends.point`` elsewhere, is a supporting point, and every p(n) in it is
        reached.
        """
        x0 = ends.point
        if x0 is None:
            return
        tree = self.model.tree
        _, block_of, _ = _blocks(tree, np.unique(top))
        cols, col_block, A, row_lower, row_upper = self._restriction(np.unique(top), x0)
        target = np.searchsorted(
            col_block * self.lp.n_cols + cols, block_of[node] * self.lp.n_cols + node
        )
        restricted = self._ends_lp(cols, target, maximize, cap, A, row_lower, row_upper)
        sol = self.solver.solve(restricted, options)
        if sol.status != "optimal" or sol.x is None:
            return
        if _violation(restricted, sol.x) > self._zero():
            return
        prices = cols < self.n_nodes
        ends.reach_at(cols[prices], sol.x[prices])

    def _restriction(
        self, top: NDArray[np.int64], x0: NDArray[np.float64]
    ) -> tuple[
        NDArray[np.int64],
        NDArray[np.int64],
        sp.csc_array,
        NDArray[np.float64],
        NDArray[np.float64],
    ]:
        """The system restricted to the columns of subtree(``top[k]``) and of its ancestors,
        one block per subtree (``top`` disjoint subtrees), every other column kept at ``x0``:
        each block has its own copy of the path and of the rows it shares with other blocks.
        Returns the columns (block by block, in order within a block), their blocks (in the
        order of :func:`_blocks`), and the rows."""
        tree = self.model.tree
        tops, block_of, inside = _blocks(tree, top)
        n_blocks = tops.size
        # each block's nodes: its subtree, then its path up to the top
        nodes, owners = [np.nonzero(inside)[0]], [block_of[inside]]
        up, blocks = tree.parent[tops], np.arange(n_blocks)
        while (up >= 0).any():
            keep = up >= 0
            up, blocks = up[keep], blocks[keep]
            nodes.append(up)
            owners.append(blocks)
            up = tree.parent[up]
        free_node, free_block = np.concatenate(nodes), np.concatenate(owners)
        # the columns of those nodes, block by block
        by_node, start, count = self._node_columns()
        width = count[free_node]
        col_block = np.repeat(free_block, width)
        offsets = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
        cols = by_node[np.repeat(start[free_node], width) + offsets]
        order = np.lexsort((cols, col_block))
        cols, col_block = cols[order], col_block[order]
        sub = sp.csc_array(self.lp.A)[:, cols].tocoo()
        key = sub.row.astype(np.int64) * n_blocks + col_block[sub.col]
        keys, row = np.unique(key, return_inverse=True)
        rows = keys // n_blocks
        # each row copy keeps the columns of other blocks and of the rest at x0
        own = np.bincount(row, weights=sub.data * x0[cols[sub.col]], minlength=keys.size)
        shift = (self.lp.A @ x0)[rows] - own
        A = sp.csc_array((sub.data, (row, sub.col)), shape=(keys.size, cols.size))
        return (
            cols,
            col_block,
            A,
            self.lp.row_lower[rows] - shift,
            self.lp.row_upper[rows] - shift,
        )

    def _local_block(
        self,
        ends: _Ends,
        top: int,
        node: NDArray[np.int64],
        maximize: NDArray[np.bool_],
        reaching: bool,
        options: SolveOptions,
    ) -> bool:
        """The open ends ``node`` (high where ``maximize``) of subtree(``top``) one after the
        other, each LP a session re-solved with the next end's objective: the relaxation on
        subtree(``top``) bounds the end; where no supporting point reaches the bound yet (and
        ``reaching``), the restriction of ``ends.point`` to subtree(``top``) and its path
        (:meth:`_restriction`) moves there. An end left open is given up at this height.
        Returns whether the restrictions still settle SETTLE_SHARE of the ends they try."""
        tree = self.model.tree
        deadline = time.perf_counter() + options.time_limit
        A, col_node, row_top, _ = self._subtrees()
        _, _, inside = _blocks(tree, np.array([top]))
        cols = np.nonzero(inside[col_node])[0]
        rows = np.nonzero(inside[row_top])[0]
        relaxed = self._columns_lp(
            cols, A[rows][:, cols], self.lp.row_lower[rows], self.lp.row_upper[rows]
        )
        bounds = self.solver.session(relaxed, options)
        moved: tuple[SolverSession, LinearProgram, NDArray[np.int64]] | None = None
        tolerance = self._zero()
        tries = met = 0
        for end, high in zip(node.tolist(), maximize.tolist(), strict=True):
            one, is_high = np.array([end]), np.array([high])
            if time.perf_counter() > deadline:
                ends.give_up(one, is_high)
                continue
            c = np.zeros(cols.size)
            c[np.searchsorted(cols, end)] = 1.0
            sol = bounds.solve_with_objective(c, high)
            if sol.status != "optimal" or sol.x is None or _violation(relaxed, sol.x) > tolerance:
                ends.give_up(one, is_high)  # unbounded here: left to the LPs of later steps
                continue
            ends.bound(one, is_high, np.array([float(c @ sol.x)]))
            if ends.settle_met(one, is_high)[0]:
                continue
            if reaching and ends.point is not None:
                if moved is None:
                    r_cols, _, r_A, r_lower, r_upper = self._restriction(
                        np.array([top]), ends.point
                    )
                    restricted = self._columns_lp(r_cols, r_A, r_lower, r_upper)
                    moved = (self.solver.session(restricted, options), restricted, r_cols)
                session, restricted, r_cols = moved
                c = np.zeros(r_cols.size)
                c[np.searchsorted(r_cols, end)] = 1.0
                sol = session.solve_with_objective(c, high)
                x = sol.x if sol.status == "optimal" else None
                if x is not None and _violation(restricted, x) <= tolerance:
                    prices = r_cols < self.n_nodes
                    ends.reach_at(r_cols[prices], x[prices])
                tries += 1
                if ends.settle_met(one, is_high)[0]:
                    met += 1
                    continue
                reaching = tries * SETTLE_SHARE < 1.0 or met >= SETTLE_SHARE * tries
            ends.give_up(one, is_high)
        return reaching

    def _ends_lp(
        self,
        cols: NDArray[np.int64],
        target: NDArray[np.int64],
        maximize: NDArray[np.bool_],
        cap: float,
        A: sp.sparray,
        row_lower: NDArray[np.float64],
        row_upper: NDArray[np.float64],
    ) -> LinearProgram:
        """min Σ p(target) for low ends − Σ p(target) for high ends, these capped at ``cap``,
        over the columns ``cols`` of the system (``target`` indexes ``cols``) and rows ``A``."""
        lp = self._columns_lp(cols, A, row_lower, row_upper)
        lp.c[target] = np.where(maximize, -1.0, 1.0)
        lp.col_upper[target[maximize]] = np.minimum(lp.col_upper[target[maximize]], cap)
        return lp

    def _columns_lp(
        self,
        cols: NDArray[np.int64],
        A: sp.sparray,
        row_lower: NDArray[np.float64],
        row_upper: NDArray[np.float64],
    ) -> LinearProgram:
        """The system's columns ``cols`` (with their bounds) under the rows ``A``, objective 0."""
        return LinearProgram(
            c=np.zeros(cols.size),
            A=sp.csc_array(A),
            row_lower=row_lower,
            row_upper=row_upper,
            col_lower=self.lp.col_lower[cols],
            col_upper=self.lp.col_upper[cols],
            maximize=False,
        )

    def _node_columns(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """The columns ordered by node, where every node's columns start in that order, and
        how many it has."""
        if self._by_node is None:
            _, col_node, _, _ = self._subtrees()
            count = np.bincount(col_node, minlength=self.n_nodes).astype(np.int64)
            self._by_node = (np.argsort(col_node, kind="stable"), np.cumsum(count) - count, count)
        return self._by_node

    def _subtrees(
        self,
    ) -> tuple[sp.csr_array, NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """The system by rows, and the node of every column, the top node of every row (the
        node whose subtree holds all of the row) and the columns in every node's subtree."""
        if self._layout is None:
            tree = self.model.tree
            n = self.n_nodes
            col_node = np.concatenate([np.arange(n), self.psi_node])
            A = sp.csr_array(self.lp.A)
            row_top = np.minimum.reduceat(col_node[A.indices], A.indptr[:-1])
            size = np.bincount(col_node, minlength=n).astype(np.int64)
            for t in range(tree.horizon, 0, -1):
                level = tree.level(t)
                size += np.bincount(tree.parent[level], weights=size[level], minlength=n).astype(
                    np.int64
                )
            self._layout = (A, col_node, row_top, size)
        return self._layout

    def _zero(self) -> float:
        """A price this small is 0: the LP's feasibility tolerance (at least 1e-9) times the
        largest value."""
        largest = float(np.abs(self.model.values).max(initial=0.0))
        return max(ZERO_PRICE, self.tolerance) * max(1.0, largest)

    def _node_optimum(
        self, c: NDArray[np.float64], node: int, maximize: bool, ends: _Ends | None = None
    ) -> float:
        """min or max of p(node) (``c`` its unit vector); inf when unbounded. The optimal
        point is a supporting point: ``ends`` (if given) keeps every price it reaches."""
        sol = self._solve_feasible(c, maximize)
        value = self._end_value(sol, node, ends)
        if value is not None:
            return value
        # the system is feasible: where probabilities are tiny a warm start can fail or end
        # off the system; from scratch, by the system's simplex method, then by the other
        # (markov_paths at 10^5 pairs: primal simplex failed at an end, warm and from
        # scratch, that dual simplex from scratch solved in 1.3 s)
        first = self.simplex
        for method in dict.fromkeys((first, "dual", "primal")):
            self._session, self.simplex = None, method
            sol = self._solve_feasible(c, maximize)
            self.simplex = first
            value = self._end_value(sol, node, ends)
            if value is not None:
                return value
        off = np.inf if sol.x is None else _violation(self.lp, sol.x)
        raise SolverError(
            f"the price range LP at node {node} ended {sol.status}, off the system by {off:.1e}"
        )

    def _end_value(self, sol: Solution, node: int, ends: _Ends | None) -> float | None:
        """p(node) at the optimum ``sol`` of its own LP (inf when unbounded; ``ends`` keeps
        every price the point reaches); None when it is no supporting point (the solve failed,
        or its point lies off the system). :class:`OutOfTime` when the time limit ran out."""
        if sol.status == "unbounded":
            return np.inf
        if sol.status == "time_limit":
            raise OutOfTime("the price range LP ran out of time")
        if sol.status != "optimal" or sol.x is None or _violation(self.lp, sol.x) > self._zero():
            return None
        if ends is not None:
            ends.reach(sol.x[: self.n_nodes])
        return max(0.0, float(sol.x[node]))


Index = NDArray[np.bool_] | NDArray[np.int64] | int


class _Ends:
    """The two ends of every node's price range: settled (proven) or open, and the lowest and
    highest p(n) reached by a supporting point so far."""

    def __init__(self, n: int, tolerance: float) -> None:
        self.low = np.zeros(n)
        self.high = np.zeros(n)
        self.low_open = np.ones(n, dtype=bool)
        self.high_open = np.ones(n, dtype=bool)
        self.reached_low = np.full(n, np.inf)
        self.reached_high = np.full(n, -np.inf)
        self.tried = np.zeros((2, n), dtype=bool)  # open ends a local relaxation left open
        self.point: NDArray[np.float64] | None = None  # a supporting point (all columns)
        self.bound_low = np.full(n, -np.inf)  # every supporting point has p ≥ bound_low
        self.bound_high = np.full(n, np.inf)  # and p ≤ bound_high
        self.tolerance = tolerance

    @property
    def open_count(self) -> int:
        return int(self.low_open.sum() + self.high_open.sum())

    @property
    def done(self) -> bool:
        return self.open_count == 0

    def settle_low(self, where: Index, value: NDArray[np.float64] | float) -> None:
        """min p(n) = ``value`` at ``where`` (a mask or indices; ``value`` one per selected)."""
        self.low[where] = value
        self.low_open[where] = False

    def settle_high(self, where: Index, value: NDArray[np.float64] | float) -> None:
        """max p(n) = ``value`` at ``where``."""
        self.high[where] = value
        self.high_open[where] = False

    def reach(self, price: NDArray[np.float64]) -> None:
        """p = ``price`` is a supporting point."""
        np.minimum(self.reached_low, price, out=self.reached_low)
        np.maximum(self.reached_high, price, out=self.reached_high)

    def reach_at(self, node: NDArray[np.int64], price: NDArray[np.float64]) -> None:
        """Some supporting point has p(``node[j]``) = ``price[j]`` (a node may repeat)."""
        np.minimum.at(self.reached_low, node, price)
        np.maximum.at(self.reached_high, node, price)

    def open_pairs(self, untried_only: bool = True) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Open ends (not yet tried by a local relaxation, by default): nodes, and True for a
        high end."""
        low = np.nonzero(self.low_open & ~(untried_only & self.tried[0]))[0]
        high = np.nonzero(self.high_open & ~(untried_only & self.tried[1]))[0]
        return np.concatenate([low, high]), np.r_[
            np.zeros(low.size, bool), np.ones(high.size, bool)
        ]

    def bound(
        self, node: NDArray[np.int64], high: NDArray[np.bool_], bound: NDArray[np.float64]
    ) -> None:
        """``bound`` bounds each end from outside: above a high end, below a low end."""
        np.minimum.at(self.bound_high, node[high], bound[high])
        np.maximum.at(self.bound_low, node[~high], bound[~high])

    def settle_met(self, node: NDArray[np.int64], high: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Settle the ends a supporting point reaches to within the tolerance of their bound
        from outside; True where settled."""
        reached = np.where(high, self.reached_high[node], self.reached_low[node])
        bound = np.where(high, self.bound_high[node], self.bound_low[node])
        met = np.where(high, bound <= reached + self.tolerance, bound >= reached - self.tolerance)
        self.settle_high(node[met & high], reached[met & high])
        self.settle_low(node[met & ~high], reached[met & ~high])
        return met

    def give_up(self, node: NDArray[np.int64], high: NDArray[np.bool_]) -> None:
        self.tried[high.astype(np.int64), node] = True


def _settle_end(ends: _Ends, node: int, maximize: bool, value: float) -> None:
    """The end's own LP found ``value``; its optimum, a supporting point (already reached),
    also settles the ends whose bound it meets."""
    (ends.settle_high if maximize else ends.settle_low)(node, value)
    ends.settle_met(*ends.open_pairs(untried_only=False))


def _blocks(
    tree: ScenarioTree, top: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """Disjoint subtrees: their top nodes ordered by scenario, for every node the index of the
    subtree holding it (where it is inside one), and whether it is inside one."""
    tops = top[np.argsort(tree.event_start[top])]
    k = np.maximum(np.searchsorted(tree.event_start[tops], tree.event_start, "right") - 1, 0)
    inside = tree.event_start[tops[k]] <= tree.event_start
    inside &= tree.event_stop <= tree.event_stop[tops[k]]
    inside &= tree.time >= tree.time[tops[k]]
    return tops, k, inside


def _violation(lp: LinearProgram, x: NDArray[np.float64]) -> float:
    """How far ``x`` lies outside ``lp``'s rows and column bounds (0 inside)."""
    ax = lp.A @ x
    return float(
        max(
            np.max(lp.row_lower - ax, initial=0.0),
            np.max(ax - lp.row_upper, initial=0.0),
            np.max(lp.col_lower - x, initial=0.0),
            np.max(x - lp.col_upper, initial=0.0),
        )
    )


def _clean(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Round away solver noise below 1e-9 relative to the value (keeps inf)."""
    finite = np.isfinite(x)
    out = x.copy()
    r = np.round(out[finite], 9)
    close = np.abs(r - out[finite]) <= 1e-9 * np.maximum(1.0, np.abs(out[finite]))
    out[np.nonzero(finite)[0][close]] = r[close]
    return out
