"""The exact optimal assignment: [P0] as an integer program, [P1] as its LP relaxation.

The LP is solved first (dual simplex). When its optimal vertex is integral it is the optimum of
[P0] and its prices support it; otherwise [P0] is solved by branch and cut and the LP's optimum
stays the bound. Welfare is always recomputed from the integer assignment, in float64, from the
model's own numbers.

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
from treemarket.solvers import SolveOptions, Solver, Start, get_solver
from treemarket.ttp.formulation import Formulation, build
from treemarket.ttp.model import TTPModel
from treemarket.ttp.optimality import check_optimality
from treemarket.ttp.prices import SupportLP, revenue_weight
from treemarket.ttp.result import TTPSolution

KKT_TOL = 1e-7  # largest violation of the optimality system accepted for reported prices
INTEGRAL = 1e-6  # distance to the nearest integer below which an LP value counts as integral
WARM_START_COLUMNS = 10_000  # automatic warm starts from this many LP columns up
WARM_START_GAP = 3e-3  # the market solver's target gap for a warm start
WARM_START_SECONDS = 30.0  # at most this long in the market solver (a quarter of a time limit)


def expected_welfare(model: TTPModel, y: NDArray[np.float64]) -> float:
    """E[Σ_t Σ_i v_i(t) y_i(t)] = Σ_n P(n) Σ_i v_i(n) y_i(n)."""
    return float(np.sum(model.tree.prob * np.einsum("in,in->n", model.values, y)))


@dataclass(frozen=True)
class ExactOptions:
    """Options of the exact solver.

    Attributes
    ----------
    formulation : {"path", "z"}
        The formulation of [P0]/[P1] (:mod:`treemarket.ttp.formulation`).
    price_ranges : bool
        Compute the range [min, max] of supporting prices at every node (two small LPs per
        node, warm-started). Without it, one supporting price system is still returned.
    solver : str or Solver
        The LP/MIP backend (:func:`treemarket.solvers.get_solver`).
    time_limit : float
        Seconds for each solver call; on a time-out the best assignment found is returned
        with its proven gap.
    warm_start : bool or None
        Start the LP (and the MIP, if it runs) from the market solver's prices and assignment
        (:meth:`Formulation.start`). The optimum is the same; only the time differs. None: on
        when the LP has at least ``WARM_START_COLUMNS`` columns, the formulation is ``path``,
        the model has no carry_over and the backend uses starts.
    """

    formulation: str = "path"
    price_ranges: bool = True
    solver: str | Solver = "highs"
    time_limit: float = np.inf
    warm_start: bool | None = None


@dataclass
class _Assignment:
    y: NDArray[np.float64]
    y_lp: NDArray[np.float64]
    lp_bound: float
    fractional: bool
    upper_bound: float | None  # None: proven optimal
    mip: dict[str, Any]
    stats: dict[str, Any]


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
) -> _Assignment:
    """LP first; the MIP only when the LP's optimal vertex is fractional."""
    start = time.perf_counter()
    form = build(model, formulation, integer=False)
    timings["build"] = timings.get("build", 0.0) + time.perf_counter() - start
    warm, feasible = None, False
    if _use_warm_start(model, form, backend, warm_start):
        start = time.perf_counter()
        from treemarket.ttp.market import MarketOptions, solve_market

        limit = min(WARM_START_SECONDS, options.time_limit / 4)
        market = solve_market(model, MarketOptions(target_gap=WARM_START_GAP, time_limit=limit))
        assert market.prices is not None
        warm, feasible = form.start(market.y, market.prices.price)
        timings["market"] = timings.get("market", 0.0) + time.perf_counter() - start
    start = time.perf_counter()
    lp_sol = backend.solve(form.lp, options, warm)
    timings["lp"] = timings.get("lp", 0.0) + time.perf_counter() - start
    if lp_sol.status != "optimal" or lp_sol.x is None:
        raise SolverError(f"the LP relaxation [P1] ended with status {lp_sol.status}")
    y_lp = form.assignment(lp_sol.x)
    lp_bound = expected_welfare(model, y_lp)
    fractional = bool(np.any(np.abs(y_lp - np.round(y_lp)) > INTEGRAL))
    stats = {
        "variables": form.lp.n_cols,
        "constraints": form.lp.n_rows,
        "nonzeros": form.lp.A.nnz,
        "warm_start": warm is not None,
        "lp_iterations": lp_sol.iterations,
    }
    if not fractional:
        return _Assignment(np.round(y_lp), y_lp, lp_bound, False, None, {}, stats)
    start = time.perf_counter()
    form.lp.integrality = np.ones(form.lp.n_cols, dtype=bool)
    incumbent = Start(warm.x) if warm is not None and feasible else None
    mip_sol = backend.solve(form.lp, options, incumbent)
    timings["mip"] = timings.get("mip", 0.0) + time.perf_counter() - start
    if mip_sol.x is None:
        raise SolverError(f"the integer problem [P0] ended with status {mip_sol.status}")
    y = np.round(form.assignment(mip_sol.x))
    mip = {"status": mip_sol.status, "nodes": mip_sol.info.get("nodes", 0.0)}
    bound = None if mip_sol.status == "optimal" else min(lp_bound, mip_sol.bound * form.scale)
    return _Assignment(y, y_lp, lp_bound, True, bound, mip, stats)


def polish(
    model: TTPModel,
    y: NDArray[np.float64],
    formulation: str = "path",
    solver: Solver | str = "highs",
) -> NDArray[np.float64]:
    """Re-solve every subtree with probabilities conditional on its root, top down.

    Given the opportunities entering a subtree, its problem is independent of the rest; solving
    it with conditional probabilities makes the decisions at its root well scaled. This repairs
    decisions in subtrees whose absolute probability is below the LP solver's tolerances (the
    welfare changes by at most their negligible mass), so that supporting prices can be found.
    """
    backend = get_solver(solver) if isinstance(solver, str) else solver
    tree = model.tree
    y = y.copy()
    options = SolveOptions()
    inner = int(tree.level_offsets[-2])
    for node in range(int(tree.level_offsets[1]), inner):
        path = tree.path_to(int(tree.parent[node]))
        z_before = model.counts - y[:, path].sum(axis=1)
        stock = 0
        if model.carry_over:
            stock = int(round(float(model.node_supply[path].sum() - y[:, path].sum())))
        sub, node_map = model.submodel(node, np.maximum(z_before, 0), stock)
        found = _optimal_assignment(sub, formulation, backend, options, {})
        y[:, node_map] = found.y
    return y


def solve_exact(model: TTPModel, options: ExactOptions | None = None, **fields: Any) -> TTPSolution:
    """Solve [P0] exactly and [P1] for its bound; find the supporting prices.

    Parameters
    ----------
    model : TTPModel
    options : ExactOptions, optional
        Defaults, changed by ``fields`` (``solve_exact(m, price_ranges=False)``); an unknown
        field is a ``TypeError``.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> sol = solve_exact(weather())
    >>> sol.welfare, sol.lp_bound, sol.lp_integral, sol.supported
    (12.0, 12.0, Fact.PROVEN, Fact.PROVEN)
    """
    opts = replace(options or ExactOptions(), **fields)
    formulation = opts.formulation
    backend = get_solver(opts.solver) if isinstance(opts.solver, str) else opts.solver
    timings: dict[str, float] = {}
    solve_options = SolveOptions(time_limit=opts.time_limit)
    found = _optimal_assignment(
        model, formulation, backend, solve_options, timings, opts.warm_start
    )
    y, y_lp, lp_bound = found.y, found.y_lp, found.lp_bound
    welfare = expected_welfare(model, y)
    tol = 1e-9 * max(1.0, abs(welfare))

    start = time.perf_counter()
    support = SupportLP(model, y, backend)
    low_system = support.price_system(revenue_weight(model, y), maximize=False)
    polished = False
    if low_system is None and lp_bound - welfare <= tol and tree_has_tiny_nodes(model):
        y = polish(model, y, formulation, backend)
        polished = True
        welfare = max(welfare, expected_welfare(model, y))
        support = SupportLP(model, y, backend)
        low_system = support.price_system(revenue_weight(model, y), maximize=False)
    supported = low_system is not None
    # supporting prices prove [P1] = [P0]; an LP optimum above the integer one refutes it
    lp_integral = supported or lp_bound - welfare <= tol
    priced = support
    notes: list[str] = []
    if not supported:
        priced = SupportLP(model, y_lp, backend)
        low_system = priced.price_system(revenue_weight(model, y_lp), maximize=False)
    ranges, report = None, None
    if low_system is not None:
        ranges = priced.ranges() if opts.price_ranges else None
        report = check_optimality(model, priced.y, low_system.price, low_system.option_value)
        if report.worst > KKT_TOL:
            notes.append(
                f"the reported prices satisfy the optimality system only to {report.worst:.1e}: "
                f"node probabilities down to {model.tree.prob.min():.1e} are below the LP "
                "solver's resolution"
            )
    else:
        notes.append(
            "no prices could be certified: node probabilities down to "
            f"{model.tree.prob.min():.1e} are below the LP solver's resolution"
        )
    if not supported and not lp_integral:
        notes.append(
            "the LP relaxation is fractional: no prices support the integer optimum as a "
            "market equilibrium; the price ranges are those of the LP optimum"
        )
    timings["prices"] = time.perf_counter() - start

    upper_bound = welfare if found.upper_bound is None else found.upper_bound
    if supported or upper_bound - welfare <= tol:
        upper_bound = welfare
    if supported:
        lp_bound = welfare  # certified: supporting prices prove the LP optimum equals welfare
    gap = 0.0 if upper_bound == welfare else (upper_bound - welfare) / abs(upper_bound)
    # when no prices could be certified for an integral LP (solver resolution), the support
    # of the integer optimum is not known rather than refuted
    supported_fact = (
        Fact.PROVEN if supported else (Fact.REFUTED if not lp_integral else Fact.UNKNOWN)
    )
    return TTPSolution(
        model=model,
        y=y,
        welfare=welfare,
        upper_bound=upper_bound,
        gap=gap,
        lp_integral=Fact.of(bool(lp_integral)),
        supported=supported_fact,
        prices=low_system,
        lp_bound=max(lp_bound, welfare),
        ranges=ranges,
        y_lp=y_lp if found.fractional else None,
        optimality=report,
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


def tree_has_tiny_nodes(model: TTPModel, threshold: float = 1e-6) -> bool:
    """Are some node probabilities small enough for the solver's tolerances to blur them?"""
    return bool(model.tree.prob.min() < threshold)
