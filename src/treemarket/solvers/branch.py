"""Branch and bound over an LP session: every node re-solves the relaxation from the last basis.

A general MIP solver spends its time on presolve, cuts and a fresh root; when the relaxation is
already solved and nearly integral (a degenerate LP with an integral optimal face close to the
vertex found, as in the TTP problems), branching on the few fractional columns and re-solving
from the warm basis proves the optimum in a handful of nodes. Nodes are explored best bound
first, plunging into the child that rounds the branching column up; a node whose bound is
within the gap tolerance of the incumbent is pruned. The answer is proven: the bound is the
largest LP value of the nodes left open (or the incumbent when none is).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from treemarket.solvers.base import LinearProgram, Progress, Solution, SolverSession

INTEGRAL = 1e-6  # distance to the nearest integer below which a value counts as integral


@dataclass
class BranchResult:
    """The best integer point found and the proven bound (in the program's objective units).

    ``status``: ``optimal`` (the bound is within the gap of the incumbent), ``stalled`` (a
    budget ran out: no better bound for ``patience`` nodes, the node or time limit).
    """

    x: NDArray[np.float64] | None
    objective: float
    bound: float
    nodes: int
    status: str

    @property
    def gap(self) -> float:
        if self.x is None:
            return float("inf")
        return max(0.0, self.bound - self.objective) / max(abs(self.bound), 1e-300)


def fractional_columns(lp: LinearProgram, x: NDArray[np.float64]) -> NDArray[np.int64]:
    """The integer columns whose value is not integral."""
    integer = np.ones(lp.n_cols, dtype=bool) if lp.integrality is None else lp.integrality
    far = np.abs(x - np.round(x)) > INTEGRAL
    return np.nonzero(integer & far)[0]


def branch_and_bound(
    lp: LinearProgram,
    session: SolverSession,
    root: Solution,
    incumbent: NDArray[np.float64] | None = None,
    *,
    rel_gap: float = 1e-9,
    time_limit: float = np.inf,
    node_limit: int = 10_000,
    patience: int | None = None,
    progress: Progress | None = None,
    integer_bound: Callable[[float], float] | None = None,
) -> BranchResult:
    """Maximize ``lp`` (a maximization) over its integer columns, from the solved ``root``.

    Parameters
    ----------
    lp : LinearProgram
        The program (``integrality`` marks the integer columns; None: all).
    session : SolverSession
        A session of ``lp`` whose last solve is ``root`` (its basis is the warm start).
    root : Solution
        The optimal relaxation.
    incumbent : array, optional
        A feasible integer point to start from.
    rel_gap : float
        Stop when (bound − incumbent) ≤ rel_gap · |bound|.
    time_limit, node_limit : float, int
    patience : int, optional
        Give up after this many nodes without a better bound (for a caller with a stronger
        method to fall back on).
    progress : callable, optional
        ``progress(nodes, bound, incumbent, gap)`` after every node.
    integer_bound : callable, optional
        A bound on the integer points from a bound of the relaxation, at most that bound: e.g.
        rounded down onto a grid every integer point's objective lies on.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from treemarket.solvers import get_solver
    >>> lp = LinearProgram(np.array([1.0, 1.0, 1.0]), sp.csc_array(np.ones((3, 3)) - np.eye(3)),
    ...                    np.full(3, -np.inf), np.ones(3), np.zeros(3), np.ones(3))
    >>> session = get_solver("highs").session(lp)
    >>> root = session.solve_from()
    >>> root.objective            # x = (1/2, 1/2, 1/2): every pair sums to at most 1
    1.5
    >>> result = branch_and_bound(lp, session, root)
    >>> result.objective, result.bound, result.status
    (1.0, 1.0, 'optimal')
    """
    started = time.perf_counter()

    def rounded(bound: float) -> float:
        return bound if integer_bound is None else min(bound, integer_bound(bound))

    best_x = None if incumbent is None else np.asarray(incumbent, dtype=np.float64)
    best = -np.inf if best_x is None else float(lp.c @ best_x)
    assert root.x is not None
    # a node: (−bound, order, columns, lower, upper); the children tighten one column more
    none = np.zeros(0, dtype=np.int64)
    heap: list[tuple[float, int, NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]]
    heap = []
    plunge: tuple[float, NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]] | None
    plunge = (rounded(root.objective), none, np.zeros(0), np.zeros(0))
    solution: Solution | None = root
    nodes, order, since_better = 0, 0, 0
    pruned = -np.inf  # the largest bound of the nodes closed by the incumbent
    top = rounded(root.objective)  # the proven bound so far

    def open_bound() -> float:
        bounds = [-item[0] for item in heap] + ([plunge[0]] if plunge is not None else [])
        return max(bounds, default=-np.inf)

    def closed(bound: float) -> bool:
        return best > -np.inf and bound - best <= rel_gap * max(abs(bound), abs(best))

    status = "optimal"
    while plunge is not None or heap:
        if plunge is not None:
            bound, index, lower, upper = plunge
            plunge = None
        else:
            negative, _, index, lower, upper = heapq.heappop(heap)
            bound = -negative
        if closed(bound):
            pruned = max(pruned, bound)
            continue
        if solution is None:  # the root is solved already; every other node is solved here
            solution = session.solve_with_bounds(index, lower, upper)
            nodes += 1
        current, solution = solution, None
        if current.status != "optimal" or current.x is None:
            continue  # infeasible: nothing below
        value = rounded(min(bound, float(current.objective)))
        if closed(value):
            pruned = max(pruned, value)
        else:
            split = fractional_columns(lp, current.x)
            if split.size == 0:
                best, best_x = value, current.x.copy()
            else:
                # the column closest to one half; round it up first (plunge), down later
                frac = current.x[split] - np.floor(current.x[split])
                j = int(split[np.argmin(np.abs(frac - 0.5))])
                at = np.nonzero(index == j)[0]
                low = float(lower[at[0]]) if at.size else float(lp.col_lower[j])
                high = float(upper[at[0]]) if at.size else float(lp.col_upper[j])
                keep = index != j
                child = np.append(index[keep], j)
                floor, ceil = float(np.floor(current.x[j])), float(np.ceil(current.x[j]))
                down = (np.append(lower[keep], low), np.append(upper[keep], floor))
                up = (np.append(lower[keep], ceil), np.append(upper[keep], high))
                heapq.heappush(heap, (-value, order, child, *down))
                order += 1
                plunge = (value, child, *up)
        now = max(best, pruned, open_bound())
        since_better = 0 if now < top - rel_gap * abs(top) else since_better + 1
        top = min(top, now)
        if progress is not None:
            progress(nodes, top, best, _gap(top, best))
        if time.perf_counter() - started > time_limit or nodes >= node_limit:
            status = "stalled"
            break
        if patience is not None and best_x is not None and since_better >= patience:
            status = "stalled"
            break
    bound = min(top, max(best, pruned, open_bound()))
    if best_x is None:
        status = "stalled"
    return BranchResult(best_x, best, bound, nodes, status)


def _gap(bound: float, value: float) -> float:
    if not np.isfinite(value):
        return float("inf")
    return max(0.0, bound - value) / max(abs(bound), 1e-300)
