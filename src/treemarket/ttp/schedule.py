"""The optimal supply schedule: how many permits to offer at each trading time.

    max_{μ, y}  E[Σ_t Σ_i v_i(t) y_i(t)]   s.t.  Σ_t μ(t) ≤ M,  lo(t) ≤ μ(t) ≤ hi(t),  μ integer,

and the constraints of [P0] with μ(t) a variable (one integer program: the assignment and the
schedule together). In the paper's model a permit is worth the same in expectation whenever it is
bought, so offering everything at the exercise time T is optimal (full information); presence
windows, early benefits and carry-over make the question real.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from treemarket.errors import SolverError
from treemarket.solvers import LinearProgram, SolveOptions, Start, get_solver
from treemarket.ttp.exact import expected_welfare, solve_exact
from treemarket.ttp.formulation import build
from treemarket.ttp.model import TTPModel


@dataclass
class ScheduleResult:
    """The optimal schedule, its welfare, the welfare curve in M and the schedule's revenue."""

    supply: list[int]
    welfare: float
    capacity: int
    curve: list[dict[str, float]] = field(default_factory=list)
    revenue: dict[str, float] = field(default_factory=dict)
    all_at_exercise: float | None = None  # welfare when all M permits are offered at T

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "supply": self.supply,
            "welfare": self.welfare,
            "capacity": self.capacity,
            "curve": self.curve,
            "revenue": self.revenue,
        }
        if self.all_at_exercise is not None:
            out["all_at_exercise_welfare"] = self.all_at_exercise
        return out


def optimal_schedule(
    model: TTPModel,
    capacity: int,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> tuple[list[int], float]:
    """The schedule μ(0..T) with Σ μ ≤ ``capacity`` (and bounds) maximizing [P0], exactly; among
    equally good schedules the latest (the largest Σ_t t μ(t)).

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> optimal_schedule(weather(), 3)     # the paper's model: everything at T = 2
    ([0, 0, 3], 12.0)
    """
    horizon = model.horizon
    lo = np.zeros(horizon + 1) if lower is None else np.asarray(lower, dtype=np.float64)
    hi = np.full(horizon + 1, float(capacity)) if upper is None else np.asarray(upper, float)
    hi = np.minimum(hi, capacity)
    if lo.sum() > capacity or np.any(lo > hi):
        raise ValueError("the bounds admit no schedule within the capacity")
    # build with the largest possible supply so that every candidate exists, then let μ vary
    wide = model.with_supply(np.maximum(hi, 1).astype(np.int64))
    form = build(wide, "path", integer=True, every_supply_row=True)
    lp = form.lp
    rows = form.supply_nodes
    assert rows is not None  # every supply row was built
    n_rows = rows.shape[0]
    time_of_row = model.tree.time[rows]
    mu_cols = sp.csr_array(
        (-np.ones(n_rows), (np.arange(n_rows), time_of_row)), shape=(lp.n_rows, horizon + 1)
    )
    A = sp.hstack([lp.A, mu_cols], format="csc")
    budget = sp.csr_array(
        np.concatenate([np.zeros(lp.n_cols), np.ones(horizon + 1)])[None, :]
    )  # Σ_t μ(t) ≤ M
    A = sp.vstack([A, budget], format="csc")
    row_lower = lp.row_lower.copy()
    row_upper = lp.row_upper.copy()
    if model.carry_over:
        row_lower[:n_rows] = 0.0  # Σ y + s − s(parent) − μ(t) = 0
        row_upper[:n_rows] = 0.0
    else:
        row_upper[:n_rows] = 0.0  # Σ y − μ(t) ≤ 0
    program = LinearProgram(
        c=np.concatenate([lp.c, np.zeros(horizon + 1)]),
        A=sp.csc_array(A),
        row_lower=np.concatenate([row_lower, [-np.inf]]),
        row_upper=np.concatenate([row_upper, [float(capacity)]]),
        col_lower=np.concatenate([lp.col_lower, lo]),
        col_upper=np.concatenate([lp.col_upper, hi]),
        integrality=np.ones(lp.n_cols + horizon + 1, dtype=bool),
        maximize=True,
    )
    backend = get_solver("highs")
    sol = backend.solve(program, SolveOptions())
    if sol.status != "optimal" or sol.x is None:
        raise SolverError(f"the schedule problem ended with status {sol.status}")
    # among the optimal schedules the latest (most information): max Σ_t t μ(t) at the optimum
    welfare_row = sp.csr_array(program.c[None, :])
    at_optimum = replace(
        program,
        c=np.concatenate([np.zeros(lp.n_cols), np.arange(horizon + 1, dtype=np.float64)]),
        A=sp.csc_array(sp.vstack([program.A, welfare_row])),
        row_lower=np.append(program.row_lower, sol.objective - 1e-9 * max(1.0, sol.objective)),
        row_upper=np.append(program.row_upper, np.inf),
    )
    latest = backend.solve(at_optimum, SolveOptions(), Start(sol.x))
    x = latest.x if latest.status == "optimal" and latest.x is not None else sol.x
    supply = [int(round(v)) for v in x[lp.n_cols :]]
    y = np.round(form.assignment(x))
    return supply, expected_welfare(model.with_supply(supply), y)


def schedule(
    model: TTPModel,
    capacity: int,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    curve_points: int = 25,
) -> ScheduleResult:
    """The optimal schedule, the welfare as a function of M (marginal value of a permit) and
    the optimal schedule's revenue at the lowest and highest supporting prices."""
    supply, welfare = optimal_schedule(model, capacity, lower, upper)
    capacities = np.unique(np.linspace(0, capacity, min(capacity + 1, curve_points)).round())
    curve = []
    previous = None
    for m in capacities.astype(int).tolist():
        try:
            _, w = optimal_schedule(model, m, lower, upper)
        except ValueError:
            continue  # the lower bounds need more than m permits
        point = {"capacity": m, "welfare": w}
        if previous is not None:
            point["marginal"] = (w - previous[1]) / (m - previous[0])
        curve.append(point)
        previous = (m, w)
    solved = solve_exact(model.with_supply(supply), price_ranges=False)
    revenue = {}
    for which in ("low", "high"):
        system = solved.price_system(which)
        if system is not None:
            revenue[which] = system.revenue(solved.model, solved.priced_y)
    at_t = None
    if lower is None and upper is None:
        end = [0] * model.horizon + [capacity]
        at_t = solve_exact(model.with_supply(end), price_ranges=False).welfare
    return ScheduleResult(supply, welfare, capacity, curve, revenue, at_t)
