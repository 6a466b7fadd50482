"""The restricted problem: [P0] over the pairs the best prices leave open.

At prices p close to the dual optimum, an optimum of [P1] buys only where a buyer is (nearly)
willing to: where her surplus over the option of waiting, v_i(n) − p(n) − E[W_i(t+1) | n], is
at least −w, and where no ancestor's surplus exceeds w (there she would have bought every unit).
The program over those pairs (and the market's own purchases, so that the market's assignment
stays feasible) is much smaller than [P0], and its optimum is feasible for [P0]: its welfare is
a lower bound to set against the dual bound L(p). This is the primal step the sequential
markets cannot take when the dual is degenerate (ties, buyer types with large counts): there
the markets' greedy rule splits the supply between indifferent buyers badly.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray

from treemarket.solvers import SolveOptions, Start, get_solver
from treemarket.ttp.equilibrium import best_response
from treemarket.ttp.formulation import build, candidate_mask
from treemarket.ttp.model import TTPModel

FloatArray = NDArray[np.float64]
INTEGRAL = 1e-6  # an LP value this close to an integer counts as that integer


def open_pairs(model: TTPModel, price: FloatArray, width: float) -> NDArray[np.bool_]:
    """(I, N): the pairs with surplus v − p − E[W(t+1)] ≥ −``width`` at ``price`` that no
    ancestor with surplus above ``width`` cuts off."""
    tree = model.tree
    option = best_response(model, price).option
    surplus = np.where(candidate_mask(model), model.values - price[None, :] - option, -np.inf)
    strict = surplus > width
    reached = np.ones(surplus.shape, dtype=bool)
    for t in range(1, tree.horizon + 1):
        level = tree.level(t)
        parent = tree.parent[level]
        reached[:, level] = reached[:, parent] & ~strict[:, parent]
    return (surplus >= -width) & reached


def restricted_assignment(
    model: TTPModel,
    price: FloatArray,
    y: FloatArray,
    width: float,
    time_limit: float,
    rel_gap: float,
    max_pairs: int | None = None,
) -> tuple[FloatArray | None, int]:
    """The best assignment of [P0] over :func:`open_pairs` and the pairs ``y`` buys: the LP
    over them when it is integral (to within 1e-6), else their MIP (to ``rel_gap``, from
    ``y``); None when the solver finds nothing within ``time_limit``, or when there are more
    than ``max_pairs`` pairs (not tried). Also the number of pairs."""
    deadline = time.perf_counter() + time_limit
    columns = open_pairs(model, price, width) | (y > 0)
    if max_pairs is not None and int(np.count_nonzero(columns)) > max_pairs:
        return None, int(np.count_nonzero(columns))
    backend = get_solver("highs")
    form = build(model, "path", integer=False, columns=columns)
    pairs = form.n_y
    lp_sol = backend.solve(form.lp, SolveOptions(time_limit=time_limit))
    if lp_sol.status != "optimal" or lp_sol.x is None:
        return None, pairs
    found = form.assignment(lp_sol.x)
    if np.all(np.abs(found - np.round(found)) <= INTEGRAL):
        return np.round(found), pairs
    left = deadline - time.perf_counter()
    if left <= 0:
        return None, pairs
    form = build(model, "path", integer=True, columns=columns)
    start = None
    if form.lp.n_cols == form.n_y:  # the path form without carry-over: y is a whole point
        start = Start(y[form.col_buyer, form.col_node].astype(np.float64))
    mip = backend.solve(form.lp, SolveOptions(time_limit=left, mip_rel_gap=rel_gap), start)
    if mip.x is None:
        return None, pairs
    return np.round(form.assignment(mip.x)), pairs
