"""The exact optimal assignment: [P0] as an integer program, [P1] as its LP relaxation.

The LP is solved first (dual simplex). When its optimal vertex is integral it is the optimum of
[P0] and its prices support it; otherwise [P0] is solved by branch and cut and the LP's optimum
stays the bound. Welfare is always recomputed from the integer assignment, in float64, from the
model's own numbers, and so are the bounds that prove it optimal: the Lagrangian bound L(p) at
the LP's duals and at the supporting prices (:func:`~treemarket.ttp.market.oracle.lagrangian_bound`;
prices support y exactly when L(p) = W(y)). Only the MIP's bound, when the LP is fractional,
is the solver's word, and it is not taken where node probabilities go below 1e-6 (its
tolerances hide more than 1e-9 there).

On large models both solves start from the market solver's answer, mapped into the program by
:meth:`~treemarket.ttp.formulation.Formulation.start`: its prices give the LP a dual solution,
its feasible assignment a primal one and the MIP its first incumbent. The answers are the same
optimal vertex / optimum, found faster (measurements in ``benchmarks/README.md``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from treemarket.errors import SolverError
from treemarket.fact import Fact
from treemarket.solvers import LinearProgram, SolveOptions, Solver, Start, get_solver
from treemarket.solvers.branch import Progress, branch_and_bound
from treemarket.ttp.formulation import Formulation, build, tree_has_tiny_nodes
from treemarket.ttp.market.oracle import lagrangian_bound, valid_prices
from treemarket.ttp.model import TTPModel, expected_welfare, integer_bound, welfare_grid
from treemarket.ttp.optimality import check_optimality
from treemarket.ttp.prices import (
    OutOfTime,
    PriceRanges,
    PriceSystem,
    SupportLP,
    revenue_weight,
)
from treemarket.ttp.reduction import merge_identical_buyers
from treemarket.ttp.result import KKT_TOL, PROVEN_GAP, TTPSolution

INTEGRAL = 1e-6  # distance to the nearest integer below which an LP value counts as integral
WARM_START_COLUMNS = 10_000  # automatic warm starts from this many LP columns up
WARM_START_GAP = 3e-3  # the market solver's target gap for a warm start
# from this many LP columns up the LP may not finish within a time limit (10^6 pairs: 2-12·10^5
# columns, LPs of 100-140 s): the market's answer may be the final one, so it aims at the
# market solver's own target
LARGE_COLUMNS = 100_000
WARM_START_SECONDS = 30.0  # at most this long in the market solver (a quarter of a time limit)
WARM_START_ITERATIONS = 500  # its duals are as good a start by then (benchmarks/README.md)
BRANCH_PATIENCE = 20  # branch-and-bound nodes without a better bound before the MIP takes over
# from this many LP columns up, with a time limit, the LP is solved in one call, which the
# backend may stop from outside at the deadline (HiGHS: a child process; its warm start's
# set-up and crossover do not look at the clock), and a fractional LP goes straight to the MIP
ONE_CALL_COLUMNS = 1_000_000
# the neighbourhood search (_neighbourhood) may take this share of the time left, and at most
# this many seconds when the solve has no time limit
NEIGHBOURHOOD_SHARE = 0.25
NEIGHBOURHOOD_SECONDS = 30.0
# polish re-solves a subtree whose probability, conditional on the last one re-solved above
# it, is below this share (markov_paths, 10^5 pairs: every subtree, 2,023 LPs, 17.6 s, then
# the prices in 3.8 s; below 1e-2, 434 LPs, 5.6 s, prices 4.8 s; below 1e-3, 3.1 s and
# 11.7 s; below 1e-6, 1.6 s and no prices)
POLISH_SHARE = 1e-2


@dataclass(frozen=True)
class ExactOptions:
    """Options of the exact solver.

    Attributes
    ----------
    formulation : {"path", "z"}
        The formulation of [P0]/[P1] (:mod:`treemarket.ttp.formulation`).
    price_ranges : bool
        Compute the range [min, max] of supporting prices at every node
        (:meth:`~treemarket.ttp.prices.SupportLP.ranges`: supporting vertices proven to
        reach many ends at once, local relaxations on subtrees, one LP per end left). Without
        it, one supporting price system is still returned.
    range_time_limit : float
        Seconds for the ranges; past them the solution has none and a note says they are
        not known.
    solver : str or Solver
        The LP/MIP backend (:func:`treemarket.solvers.get_solver`).
    time_limit : float
        Seconds for the whole solve (LP, branch and bound, MIP; the prices come after); when
        they run out the best assignment found is returned with its proven bound and gap.
    warm_start : bool or None
        Start the LP (and the MIP, if it runs) from the market solver's prices and assignment
        (:meth:`Formulation.start`). The optimum is the same; only the time differs. None: on
        when the LP has at least ``WARM_START_COLUMNS`` columns, the formulation is ``path``,
        the model has no carry_over and the backend uses starts.
    merge_identical : bool
        Solve buyers with identical value processes as one type (:mod:`treemarket.ttp.reduction`):
        the same optimum, without the symmetry.
    """

    formulation: str = "path"
    price_ranges: bool = True
    range_time_limit: float = float("inf")
    solver: str | Solver = "highs"
    time_limit: float = np.inf
    warm_start: bool | None = None
    merge_identical: bool = True


@dataclass
class _Assignment:
    """The assignment found, its LP (None: the LP did not finish) and its proven bound."""

    y: NDArray[np.float64]
    y_lp: NDArray[np.float64] | None
    lp_bound: float | None
    fractional: bool | None
    upper_bound: float | None  # None: optimal by the LP solver's word (an integral vertex)
    mip: dict[str, Any]
    stats: dict[str, Any]
    lp_certificate: float | None = None  # L(p) at the LP's duals: a bound on [P1] we checked
    mip_bound: float | None = None  # the MIP solver's (or branch and bound's) bound on [P0]
    polished: bool = False  # y is the output of :func:`polish`


def _use_warm_start(
    model: TTPModel, form: Formulation, backend: Solver, warm_start: bool | None
) -> bool:
    """``warm_start`` unless None: then on for large path models the market solver handles."""
    possible = form.kind == "path" and not model.carry_over
    if warm_start is None:
        return possible and backend.supports_start and form.lp.n_cols >= WARM_START_COLUMNS
    if warm_start and not possible:
        raise ValueError(
            "warm starts need the path formulation and a model without carry_over (the market "
            "solver's)"
        )
    return warm_start


def _optimal_assignment(
    model: TTPModel,
    formulation: str,
    backend: Solver,
    options: SolveOptions,
    timings: dict[str, float],
    warm_start: bool | None = False,
    progress: Progress | None = None,
    repair: bool = True,
) -> _Assignment:
    """LP first; when its optimal vertex is fractional, branch and bound from the LP's basis,
    then (if that stalls) the backend's MIP from the best point found. ``options.time_limit``
    is the budget of the whole call: when it runs out the best assignment found is returned
    with its proven bound (the market solver's, when even the LP did not finish).

    With ``repair``, where node probabilities go below 1e-6 and the LP's vertex is integral at
    the root, the vertex's subtrees are first re-solved (:func:`polish`): a fractional part
    that only sits below the root can give an integral point at the LP bound."""
    deadline = time.perf_counter() + options.time_limit
    start = time.perf_counter()
    form = build(model, formulation, integer=False)
    timings["build"] = timings.get("build", 0.0) + time.perf_counter() - start
    warm, market = None, None
    use_warm = _use_warm_start(model, form, backend, warm_start)
    # with a time limit a large model always gets the market solver's answer first: the LP
    # may not finish, and then that answer (with its proven bound) is the best one
    fallback = (
        warm_start is None
        and np.isfinite(options.time_limit)
        and form.lp.n_cols >= WARM_START_COLUMNS
    )
    if use_warm or fallback:
        start = time.perf_counter()
        from treemarket.ttp.market import MarketOptions, solve_market

        limit = min(WARM_START_SECONDS, options.time_limit / 4)
        gap = WARM_START_GAP if form.lp.n_cols < LARGE_COLUMNS else MarketOptions().target_gap
        warm_options = MarketOptions(
            target_gap=gap,
            time_limit=limit,
            max_iterations=WARM_START_ITERATIONS,
            restrict=False,
        )
        market = solve_market(model, warm_options, progress)
        assert market.prices is not None
        if use_warm:
            warm, _ = form.start(market.y, market.prices.price)
        timings["market"] = timings.get("market", 0.0) + time.perf_counter() - start
    start = time.perf_counter()
    session = None
    if np.isfinite(options.time_limit) and form.lp.n_cols >= ONE_CALL_COLUMNS:
        lp_sol = backend.solve(form.lp, replace(options, time_limit=_left(deadline)), warm)
    else:
        session = backend.session(form.lp, replace(options, time_limit=_left(deadline)))
        lp_sol = session.solve_from(warm)
    timings["lp"] = timings.get("lp", 0.0) + time.perf_counter() - start
    stats: dict[str, Any] = {
        "variables": form.lp.n_cols,
        "constraints": form.lp.n_rows,
        "nonzeros": form.lp.A.nnz,
        "warm_start": warm is not None,
        "lp_iterations": lp_sol.iterations,
    }
    if lp_sol.status != "optimal" or lp_sol.x is None:
        if market is not None and lp_sol.status == "time_limit":
            # the LP did not finish: the market solver's answer is the best one with a proof
            stats["lp_status"] = lp_sol.status
            return _Assignment(market.y, None, None, None, market.upper_bound, {}, stats)
        detail = f" ({lp_sol.detail})" if lp_sol.detail else ""
        raise SolverError(f"the LP relaxation [P1] ended with status {lp_sol.status}{detail}")
    y_lp = form.assignment(lp_sol.x)
    lp_bound = expected_welfare(model, y_lp)
    lp_price = _dual_prices(model, form, lp_sol.row_duals)
    certificate = None if lp_price is None else lagrangian_bound(model, lp_price)
    fractional = not _integral(y_lp)
    if not fractional:
        return _Assignment(np.round(y_lp), y_lp, lp_bound, False, None, {}, stats, certificate)

    start = time.perf_counter()
    lp = form.lp
    lp.integrality = np.zeros(lp.n_cols, dtype=bool)
    lp.integrality[: form.n_integer] = True
    first = None if market is None else market.y[form.col_buyer, form.col_node]
    # every integral welfare lies on a grid δℤ: the LP's bound rounded down onto it may
    # already prove the market's assignment optimal, and it prunes the branch and bound
    grid = welfare_grid(model)
    lp_upper = lp_bound if certificate is None else certificate
    on_grid = integer_bound(lp_upper, grid)
    stats["welfare_grid"] = grid
    if market is not None and on_grid - expected_welfare(model, market.y) <= PROVEN_GAP * max(
        1.0, abs(on_grid)
    ):
        timings["mip"] = timings.get("mip", 0.0) + time.perf_counter() - start
        proven = {
            "nodes": 0,
            "branch": "skipped: the LP bound, on the welfare grid, proves the warm start optimal",
        }
        return _Assignment(
            np.round(market.y), y_lp, lp_bound, True, on_grid, proven, stats, certificate
        )
    if repair and tree_has_tiny_nodes(model) and _integral(y_lp[:, model.tree.level(0)]):
        # skewed_probabilities, 10^5 pairs: the LP's vertex fractional at 404 nodes of
        # probability 7e-5 and less; re-solving its subtrees (14 s) reached the LP bound,
        # where the MIP took 50 s and the prices then needed the same re-solve
        repaired = polish(model, y_lp, formulation, backend, deadline)
        if _integral(repaired):
            repaired = np.round(repaired)
            welfare = expected_welfare(model, repaired)
            if on_grid - welfare <= PROVEN_GAP * max(1.0, abs(on_grid)):
                timings["mip"] = timings.get("mip", 0.0) + time.perf_counter() - start
                proven = {
                    "nodes": 0,
                    "branch": "skipped: the LP's vertex, its subtrees re-solved, reaches the "
                    "LP bound",
                }
                return _Assignment(
                    repaired, y_lp, lp_bound, True, on_grid, proven, stats, certificate, None, True
                )
            if market is None or welfare > expected_welfare(model, market.y):
                first = repaired[form.col_buyer, form.col_node]
    if session is None:  # no branch and bound in this process: the MIP from the market's point
        x, bound = _completed(form, first), lp_sol.objective
        mip: dict[str, Any] = {"nodes": 0, "branch": "skipped"}
        status = "skipped"
    else:
        found = branch_and_bound(
            lp,
            session,
            lp_sol,
            _completed(form, first),
            rel_gap=PROVEN_GAP,
            time_limit=_left(deadline),
            patience=BRANCH_PATIENCE,
            progress=None if progress is None else _scaled(progress, form.scale),
            integer_bound=lambda bound: integer_bound(bound * form.scale, grid) / form.scale,
        )
        x, bound, status = found.x, found.bound, found.status
        mip = {"nodes": found.nodes, "branch": found.status}
    far = x is not None and lp_sol.objective - float(lp.c @ x) > 10 * PROVEN_GAP * abs(bound)
    if status != "optimal" and session is not None and far and _left(deadline) > 0:
        assert x is not None
        better = _neighbourhood(lp, backend, options, lp_sol.x, x, deadline)
        mip["neighbourhood"] = better is not None
        if better is not None:
            x = better
    if status != "optimal" and _left(deadline) > 0:
        mip_sol = backend.solve(
            lp, replace(options, time_limit=_left(deadline)), None if x is None else Start(x)
        )
        mip["status"] = mip_sol.status
        mip["mip_nodes"] = mip_sol.info.get("nodes", 0.0)
        if mip_sol.x is not None and (x is None or mip_sol.objective > float(lp.c @ x)):
            x = mip_sol.x
        if np.isfinite(mip_sol.bound):
            bound = min(bound, mip_sol.bound)
    timings["mip"] = timings.get("mip", 0.0) + time.perf_counter() - start
    if x is None:
        raise SolverError("no integer assignment was found within the time limit")
    y = np.round(form.assignment(x))
    upper = min(on_grid, integer_bound(bound * form.scale, grid))
    return _Assignment(y, y_lp, lp_bound, True, upper, mip, stats, certificate, bound * form.scale)


def _certifies(model: TTPModel, y: NDArray[np.float64], system: PriceSystem, tol: float) -> bool:
    """Do the prices prove y optimal, L(p) ≤ W(y) + tol, and meet the optimality system node
    by node to KKT_TOL?"""
    if lagrangian_bound(model, system.price) - expected_welfare(model, y) > tol:
        return False
    return check_optimality(model, y, system.price, system.option_value).worst <= KKT_TOL


def _integral(y: NDArray[np.float64]) -> bool:
    return bool(np.all(np.abs(y - np.round(y)) <= INTEGRAL))


def _neighbourhood(
    lp: LinearProgram,
    backend: Solver,
    options: SolveOptions,
    x_lp: NDArray[np.float64],
    x: NDArray[np.float64],
    deadline: float,
) -> NDArray[np.float64] | None:
    """A better integer point near ``x``, or None: the MIP over the integer columns on which the
    LP optimum ``x_lp`` and the incumbent ``x`` disagree, the others fixed at their common value
    (relaxation-induced neighbourhood search), in a share of the time left (at most
    :data:`NEIGHBOURHOOD_SECONDS`). Its points are points of the whole program."""
    integer = lp.integrality if lp.integrality is not None else np.ones(lp.n_cols, dtype=bool)
    agree = integer & (np.abs(x_lp - x) <= INTEGRAL)
    lower, upper = lp.col_lower.copy(), lp.col_upper.copy()
    lower[agree] = upper[agree] = np.round(x[agree])
    limit = min(NEIGHBOURHOOD_SHARE * _left(deadline), NEIGHBOURHOOD_SECONDS)
    sub = replace(lp, col_lower=lower, col_upper=upper)
    sol = backend.solve(sub, replace(options, time_limit=limit), Start(x))
    if sol.x is None or not sol.objective > float(lp.c @ x):
        return None
    return sol.x


def _contains(ranges: PriceRanges, price: NDArray[np.float64], tolerance: float) -> bool:
    """Do the ranges hold the supporting prices ``price`` (the LPs' tolerance, relative to the
    largest price)? They must: a range LP that says otherwise was not solved right."""
    slack = 10 * tolerance * max(1.0, float(np.abs(price).max(initial=0.0)))
    return bool(np.all(ranges.low <= price + slack) and np.all(price <= ranges.high + slack))


def _dual_prices(
    model: TTPModel, form: Formulation, row_duals: NDArray[np.float64] | None
) -> NDArray[np.float64] | None:
    """The node prices of the LP's duals, p(n) = dual(n) · scale / P(n) on the supply rows (the
    stock rows with carry-over), made valid multipliers (:func:`valid_prices`): L(p) at them is
    a bound on [P1] computed without trusting the solver's tolerances. None without duals."""
    if row_duals is None or form.supply_nodes is None:
        return None
    nodes = form.supply_nodes
    price = np.zeros(model.tree.n_nodes)
    price[nodes] = row_duals[: nodes.shape[0]] * form.scale / model.tree.prob[nodes]
    return valid_prices(model, price)


def _left(deadline: float) -> float:
    """Seconds until ``deadline`` (inf when there is none), at least 0."""
    return max(0.0, deadline - time.perf_counter()) if np.isfinite(deadline) else np.inf


def _completed(form: Formulation, x: NDArray[np.float64] | None) -> NDArray[np.float64] | None:
    """A point of the program from its y columns (z and stock columns filled in); None when
    the formulation has other columns (only the path form without carry-over has none)."""
    if x is None or form.lp.n_cols != form.n_y:
        return None
    return np.asarray(x, dtype=np.float64)


def _scaled(progress: Progress, scale: float) -> Progress:
    """``progress`` fed with the program's scaled objective, reported in welfare units."""
    return lambda nodes, bound, value, gap: progress(nodes, bound * scale, value * scale, gap)


def polish(
    model: TTPModel,
    y: NDArray[np.float64],
    formulation: str = "path",
    solver: Solver | str = "highs",
    deadline: float = np.inf,
    share: float = POLISH_SHARE,
) -> NDArray[np.float64]:
    """Re-solve subtrees with probabilities conditional on their root, top down.

    Given the opportunities entering a subtree, its problem is independent of the rest; solving
    it with conditional probabilities makes the decisions at its root well scaled. This repairs
    decisions in subtrees whose absolute probability is below the LP solver's tolerances (the
    welfare changes by at most their negligible mass), so that supporting prices can be found.
    A subtree is re-solved when its probability, conditional on the last subtree re-solved
    above it (at first the whole tree), is below ``share`` (1: every subtree), or when ``y``
    is fractional in it. At ``deadline`` (``time.perf_counter()``) it stops, with the subtrees
    done so far.
    """
    backend = get_solver(solver) if isinstance(solver, str) else solver
    tree = model.tree
    y = y.copy()
    inner = int(tree.level_offsets[-2])
    # fractional[n]: y is fractional somewhere in the subtree of n (when polish starts)
    fractional = np.abs(y - np.round(y)).max(axis=0, initial=0.0) > INTEGRAL
    for t in range(tree.horizon, 0, -1):
        np.logical_or.at(fractional, tree.parent[tree.level(t)], fractional[tree.level(t)])
    anchor = np.ones(tree.n_nodes)  # the probability of the last subtree re-solved above
    for node in range(int(tree.level_offsets[1]), inner):
        left = _left(deadline)
        if left <= 0:
            break
        above = anchor[tree.parent[node]]
        anchor[node] = above
        if tree.prob[node] >= share * above and not fractional[node]:
            continue
        path = tree.path_to(int(tree.parent[node]))
        z_before = model.counts - y[:, path].sum(axis=1)
        stock = 0
        if model.carry_over:
            stock = int(round(float(model.node_supply[path].sum() - y[:, path].sum())))
        sub, node_map = model.submodel(node, np.maximum(z_before, 0), stock)
        if tree.prob[node] >= share * above and _integral(y[:, node_map]):
            continue  # re-solved above: no longer fractional
        try:
            found = _optimal_assignment(
                sub, formulation, backend, SolveOptions(time_limit=left), {}, repair=False
            )
        except SolverError:  # out of time within the subtree: it keeps what it had
            break
        anchor[node] = tree.prob[node]
        had = expected_welfare(sub, y[:, node_map])
        if expected_welfare(sub, found.y) >= had - PROVEN_GAP * max(1.0, abs(had)):
            y[:, node_map] = found.y  # (a subtree stopped by the deadline may do worse)
    return y


def solve_exact(
    model: TTPModel,
    options: ExactOptions | None = None,
    progress: Progress | None = None,
    **fields: Any,
) -> TTPSolution:
    """Solve [P0] exactly and [P1] for its bound; find the supporting prices.

    Parameters
    ----------
    model : TTPModel
    options : ExactOptions, optional
        Defaults, changed by ``fields`` (``solve_exact(m, price_ranges=False)``); an unknown
        field is a ``TypeError``.
    progress : callable, optional
        ``progress(step, bound, welfare, gap)``: the market solver's iterations of a warm
        start, then the branch-and-bound nodes when the LP is fractional.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> sol = solve_exact(weather())
    >>> sol.welfare, sol.lp_bound, sol.lp_integral, sol.supported
    (12.0, 12.0, Fact.PROVEN, Fact.PROVEN)
    """
    opts = replace(options or ExactOptions(), **fields)
    if opts.merge_identical:
        merge = merge_identical_buyers(model)
        if merge.merges:
            unmerged = replace(opts, merge_identical=False)
            return merge.restore(solve_exact(merge.model, unmerged, progress))
    formulation = opts.formulation
    backend = get_solver(opts.solver) if isinstance(opts.solver, str) else opts.solver
    timings: dict[str, float] = {}
    deadline = time.perf_counter() + opts.time_limit
    solve_options = SolveOptions(time_limit=opts.time_limit)
    found = _optimal_assignment(
        model, formulation, backend, solve_options, timings, opts.warm_start, progress
    )
    if found.lp_bound is None or found.y_lp is None:
        return _unfinished(model, found, timings)
    y, y_lp, lp_bound = found.y, found.y_lp, found.lp_bound
    welfare = expected_welfare(model, y)
    tol = PROVEN_GAP * max(1.0, abs(welfare))
    # bounds on [P1] and [P0]: L(p) at the LP's duals (checked here), the MIP's bound (the
    # solver's word, not taken where node probabilities are below its tolerances: there it
    # was seen 2e-9 below a feasible point); an integral LP vertex without duals is optimal by
    # the solver's word
    lp_upper = found.lp_certificate
    distrust_mip = bool(found.fractional) and lp_upper is not None and tree_has_tiny_nodes(model)
    if distrust_mip and lp_upper is not None:
        upper_bound = max(lp_upper, welfare)
    elif found.upper_bound is not None:
        upper_bound = max(found.upper_bound, welfare)
    else:
        upper_bound = welfare if lp_upper is None else max(lp_upper, welfare)
    # every integral welfare is a multiple of the grid δ: [P0] ≤ δ⌊bound/δ⌋
    grid = float(found.stats.get("welfare_grid", 0.0))
    upper_bound = max(integer_bound(upper_bound, grid), welfare)

    start = time.perf_counter()
    timed_out = False  # the time limit ran out before the prices were known
    support = SupportLP(model, y, backend, _left(deadline))
    low_system = None
    polished = found.polished
    try:
        # below the LP optimum no prices can support y; where probabilities are tiny, a MIP's
        # optimum is first re-solved in its rare subtrees (markov_paths, 10^5 pairs: 45 s to
        # find no prices for the MIP's optimum, then 18 s of polish and 4 s)
        tiny = tree_has_tiny_nodes(model)

        def accept(system: PriceSystem) -> bool:
            return _certifies(model, support.y, system, tol)

        if lp_bound - welfare <= tol and (polished or not tiny or not found.fractional):
            low_system = support.price_system(revenue_weight(model, y), False, accept)
        shares = () if not tiny else (1.0,) if polished else (POLISH_SHARE, 1.0)
        for share in shares:
            if (low_system is not None and accept(low_system)) or lp_bound - welfare > tol:
                break
            # some systems were found only after re-solving every subtree, others only after
            # re-solving fewer (skewed_probabilities, 3,000 pairs, seeds 1 and 3)
            y = polish(model, y, formulation, backend, deadline, share)
            polished = True
            welfare = expected_welfare(model, y)
            support = SupportLP(model, y, backend, _left(deadline))
            low_system = support.price_system(revenue_weight(model, y), False, accept)
    except OutOfTime:
        timed_out = True
    # the solver's prices are checked in float64: L(p) = W(y) (every buyer best-responds,
    # unsold supply is free) and, since L(p) weighs a node by its probability (down to 1e-30
    # here and there), the optimality system node by node
    certified, report = np.inf, None
    if low_system is not None:
        certified = lagrangian_bound(model, low_system.price)
        lp_upper = certified if lp_upper is None else min(lp_upper, certified)
        upper_bound = min(upper_bound, max(certified, welfare))
        report = check_optimality(model, y, low_system.price, low_system.option_value)
    supported = certified - welfare <= tol and report is not None and report.worst <= KKT_TOL
    optimal = upper_bound - welfare <= tol
    # [P1] = [P0] is proven by a bound on [P1] at the integer point's welfare, and refuted by a
    # bound on [P0] below the LP optimum; supporting prices of the integer optimum exist
    # exactly when it holds
    lp_reached = lp_bound if lp_upper is None else lp_upper
    if supported or lp_reached - welfare <= tol:
        lp_integral = Fact.PROVEN
    elif upper_bound < lp_bound - tol:
        lp_integral = Fact.REFUTED
    else:
        lp_integral = Fact.UNKNOWN
    supported_fact = Fact.PROVEN
    if not supported:
        supported_fact = Fact.REFUTED if lp_integral.refuted else Fact.UNKNOWN
    priced = support
    notes: list[str] = []
    lp_rounded = integer_bound(lp_reached, grid)
    if found.fractional and lp_rounded < lp_reached - tol:
        notes.append(
            "every integral assignment's welfare is a multiple of "
            f"{grid:.6g} (the values times the probabilities), so the bounds on it are rounded "
            f"down to that grid (the LP's {lp_reached:.10g} to {lp_rounded:.10g})"
        )
    if distrust_mip and not optimal and found.mip_bound is not None:
        notes.append(
            f"the MIP solver's bound ({found.mip_bound:.10g}) is not taken as proof: node "
            f"probabilities down to {model.tree.prob.min():.1e} are below its tolerances; the "
            "bound is the Lagrangian bound at the LP's prices"
        )
    if low_system is not None and certified - welfare > tol:
        excess = (certified - welfare) / max(1.0, abs(welfare))
        notes.append(
            "the prices found are not certified: at them L(p) exceeds the welfare by "
            f"{excess:.1e} (relative), above {PROVEN_GAP:.0e}"
        )
    if low_system is None and not timed_out:
        priced = SupportLP(model, y_lp, backend, _left(deadline))
        try:
            low_system = priced.price_system(revenue_weight(model, y_lp), maximize=False)
        except OutOfTime:
            timed_out = True
    ranges, price_gap = None, None
    if low_system is not None:
        priced_welfare = welfare if priced is support else expected_welfare(model, priced.y)
        bound = certified if priced is support else lagrangian_bound(model, low_system.price)
        price_gap = max(0.0, bound - priced_welfare) / max(1.0, abs(priced_welfare))
        if priced is not support and price_gap > PROVEN_GAP:
            notes.append(
                "the prices of the LP optimum are not certified: at them L(p) exceeds the LP "
                f"optimum's welfare by {price_gap:.1e} (relative), above {PROVEN_GAP:.0e}"
            )
        if opts.price_ranges:
            try:
                ranges = priced.ranges(opts.range_time_limit)
            except SolverError as error:  # the system is feasible, its ranges not known
                notes.append(f"price ranges not known: {error}")
            if ranges is not None and not _contains(ranges, low_system.price, priced.tolerance):
                ranges = None
                notes.append(
                    "price ranges not known: the range LPs exclude the supporting prices found "
                    f"(node probabilities down to {model.tree.prob.min():.1e} are below the LP "
                    "solver's resolution)"
                )
        if report is None:  # the LP optimum's prices (y's were checked above)
            report = check_optimality(model, priced.y, low_system.price, low_system.option_value)
        if report.worst > KKT_TOL:
            notes.append(
                f"the reported prices satisfy the optimality system only to {report.worst:.1e}, "
                "so they are not certified as an equilibrium: node probabilities down to "
                f"{model.tree.prob.min():.1e} are below the LP solver's resolution"
            )
    elif timed_out:
        notes.append(
            "the time limit ran out before the prices were found: nothing is known about them"
        )
    else:
        notes.append(
            "no prices could be certified: node probabilities down to "
            f"{model.tree.prob.min():.1e} are below the LP solver's resolution"
        )
    of_lp = (
        "" if low_system is None or priced is support else "; the {} are those of the LP optimum"
    )
    if lp_integral.refuted:
        notes.append(
            "the LP relaxation is fractional: no prices support the integer optimum as a "
            "market equilibrium" + of_lp.format("price ranges" if opts.price_ranges else "prices")
        )
    elif not supported and not optimal:
        cause = "to a proven 1e-9" if distrust_mip else "to optimality within the time limit"
        notes.append(f"the integer problem was not solved {cause}" + of_lp.format("prices"))
    timings["prices"] = time.perf_counter() - start

    if supported or optimal:
        upper_bound = welfare
    if supported:
        lp_bound = welfare  # certified: supporting prices prove the LP optimum equals welfare
    gap = 0.0 if upper_bound == welfare else (upper_bound - welfare) / abs(upper_bound)
    return TTPSolution(
        model=model,
        y=y,
        welfare=welfare,
        upper_bound=upper_bound,
        gap=gap,
        lp_integral=lp_integral,
        supported=supported_fact,
        prices=low_system,
        lp_bound=max(lp_bound, welfare),
        ranges=ranges,
        # a fractional vertex is worth showing (as lotteries) unless an integral point is proven
        # as good and the prices belong to it
        y_lp=y_lp
        if found.fractional and (not lp_integral.proven or priced is not support)
        else None,
        optimality=report,
        price_gap=price_gap,
        method="exact",
        formulation=formulation,
        timings=timings,
        stats={
            **found.stats,
            **found.mip,
            "polished": polished,
            "price_tolerance": priced.tolerance,
            "kkt_violation": float("nan") if report is None else report.worst,
        },
        notes=notes,
    )


def _unfinished(model: TTPModel, found: _Assignment, timings: dict[str, float]) -> TTPSolution:
    """The answer when even the LP did not finish in time: the warm start's assignment and
    bound (the market solver's), said as such; nothing about the LP or prices is known."""
    welfare = expected_welfare(model, found.y)
    bound = max(float(found.upper_bound or welfare), welfare)
    return TTPSolution(
        model=model,
        y=found.y,
        welfare=welfare,
        upper_bound=bound,
        gap=0.0 if bound == welfare else (bound - welfare) / abs(bound),
        lp_integral=Fact.UNKNOWN,
        supported=Fact.UNKNOWN,
        prices=None,
        method="exact",
        timings=timings,
        stats=found.stats,
        notes=[
            "the LP relaxation did not finish within the time limit: the assignment and the "
            "bound are those of the market solver that started it (no prices are certified)"
        ],
    )
