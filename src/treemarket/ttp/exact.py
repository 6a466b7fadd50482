"""The exact optimal assignment: [P0] as an integer program, [P1] as its LP relaxation.

The LP is solved first (dual simplex). When its optimal vertex is integral it is the optimum of
[P0] and its prices support it; otherwise [P0] is solved by branch and cut and the LP's optimum
stays the bound. Welfare is always recomputed from the integer assignment, in float64, from the
model's own numbers.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray

from treemarket.errors import SolverError
from treemarket.solvers import SolveOptions, Solver, get_solver
from treemarket.ttp.formulation import build
from treemarket.ttp.model import TTPModel
from treemarket.ttp.prices import SupportLP
from treemarket.ttp.result import TTPSolution

INTEGRAL = 1e-6  # distance to the nearest integer below which an LP value counts as integral


def expected_welfare(model: TTPModel, y: NDArray[np.float64]) -> float:
    """E[Σ_t Σ_i v_i(t) y_i(t)] = Σ_n P(n) Σ_i v_i(n) y_i(n)."""
    return float(np.sum(model.tree.prob * np.einsum("in,in->n", model.values, y)))


def solve_exact(
    model: TTPModel,
    *,
    formulation: str = "path",
    price_ranges: bool = True,
    solver: Solver | str = "highs",
    time_limit: float = np.inf,
) -> TTPSolution:
    """Solve [P0] exactly and [P1] for its bound; find the supporting prices.

    Parameters
    ----------
    model : TTPModel
    formulation : {"path", "z"}
    price_ranges : bool
        Compute the range [min, max] of supporting prices at every node (two small LPs per
        node, warm-started). Without it, one supporting price system is still returned.
    solver : Solver or name
    time_limit : float
        Seconds for the integer solve; on a time-out the best assignment found is returned with
        its proven gap.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> sol = solve_exact(weather())
    >>> sol.welfare, sol.lp_bound, sol.lp_integral
    (12.0, 12.0, True)
    """
    backend = get_solver(solver) if isinstance(solver, str) else solver
    timings: dict[str, float] = {}
    start = time.perf_counter()
    lp_form = build(model, formulation, integer=False)
    timings["build"] = time.perf_counter() - start

    start = time.perf_counter()
    options = SolveOptions(time_limit=time_limit)
    lp_sol = backend.solve(lp_form.lp, options)
    timings["lp"] = time.perf_counter() - start
    if lp_sol.status != "optimal" or lp_sol.x is None:
        raise SolverError(f"the LP relaxation [P1] ended with status {lp_sol.status}")
    y_lp = lp_form.assignment(lp_sol.x, model.values.shape)
    lp_bound = expected_welfare(model, y_lp)
    fractional = bool(np.any(np.abs(y_lp - np.round(y_lp)) > INTEGRAL))

    mip_info: dict[str, float] = {}
    if not fractional:
        y = np.round(y_lp)
        upper_bound = lp_bound
    else:
        start = time.perf_counter()
        mip = lp_form.lp
        mip.integrality = np.ones(mip.n_cols, dtype=bool)
        mip_sol = backend.solve(mip, options)
        mip.integrality = None
        timings["mip"] = time.perf_counter() - start
        if mip_sol.x is None:
            raise SolverError(f"the integer problem [P0] ended with status {mip_sol.status}")
        y = np.round(lp_form.assignment(mip_sol.x, model.values.shape))
        mip_info = {"status": mip_sol.status, "nodes": mip_sol.info.get("nodes", 0.0)}
        if mip_sol.status == "optimal":
            upper_bound = None  # proven optimal within the solver's gap, set below
        else:
            upper_bound = min(lp_bound, mip_sol.bound * lp_form.scale)
    welfare = expected_welfare(model, y)
    if upper_bound is None or upper_bound - welfare <= 1e-9 * max(1.0, abs(welfare)):
        upper_bound = welfare
    gap = 0.0 if upper_bound == welfare else (upper_bound - welfare) / abs(upper_bound)

    start = time.perf_counter()
    support = SupportLP(model, y, backend)
    supported = support.feasible()
    lp_integral = supported or lp_bound - welfare <= 1e-9 * max(1.0, abs(welfare))
    priced = support if supported else SupportLP(model, y_lp, backend)
    if not supported and not priced.feasible():
        raise SolverError("no prices satisfy the optimality conditions of the LP optimum")
    revenue_weight = model.tree.prob * np.maximum(y if supported else y_lp, 0).sum(axis=0)
    low_system = priced.price_system(revenue_weight, maximize=False)
    ranges = priced.ranges() if price_ranges else None
    timings["prices"] = time.perf_counter() - start
    if supported:
        lp_bound = welfare  # certified: supporting prices prove the LP optimum equals welfare

    return TTPSolution(
        model=model,
        y=y,
        welfare=welfare,
        lp_bound=max(lp_bound, welfare),
        upper_bound=upper_bound,
        gap=gap,
        lp_integral=bool(lp_integral),
        supported=bool(supported),
        y_lp=None if not fractional else y_lp,
        prices=low_system,
        ranges=ranges,
        method="exact",
        formulation=formulation,
        timings=timings,
        stats={
            "variables": lp_form.lp.n_cols,
            "constraints": lp_form.lp.n_rows,
            "nonzeros": int(lp_form.lp.A.nnz),
            **mip_info,
        },
    )
