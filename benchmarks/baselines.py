"""What a user would write without treemarket, to compare with (make bench installs them).

* :func:`naive_path_milp`: the naive path formulation on scipy's milp: every (buyer, node) pair
  is a variable, one row per buyer and leaf (Σ over the path ≤ 1) and one per node (Σ over
  buyers ≤ μ); no pruning, no LP-first shortcut.
* :func:`pyomo_highs`: [P0] as a user writes it in Pyomo, solved by HiGHS (appsi_highs).
* :func:`scipy_highs_lp` and :func:`glop_lp`: the LP relaxation [P1] (treemarket's pruned path
  formulation) on scipy's HiGHS and on OR-Tools GLOP.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.optimize as opt
import scipy.sparse as sp

from treemarket.ttp.model import TTPModel


def naive_path_milp(model: TTPModel, time_limit: float = 600.0) -> tuple[float, str]:
    """Solve [P0] with scipy.optimize.milp on the unpruned path formulation."""
    tree = model.tree
    n_buyers, n_nodes = model.values.shape
    anc = tree.ancestors  # (L, T+1)
    n_leaves, depth = anc.shape
    col = (np.arange(n_buyers)[:, None, None] * n_nodes + anc[None, :, :]).ravel()
    row = np.repeat(np.arange(n_buyers * n_leaves), depth)
    shape = (n_buyers * n_leaves, n_buyers * n_nodes)
    paths = sp.csr_array((np.ones(col.shape[0]), (row, col)), shape=shape)
    node_of_col = np.tile(np.arange(n_nodes), n_buyers)
    supply = sp.csr_array(
        (np.ones(n_buyers * n_nodes), (node_of_col, np.arange(n_buyers * n_nodes))),
        shape=(n_nodes, n_buyers * n_nodes),
    )
    A = sp.vstack([paths, supply]).tocsr()
    ub = np.concatenate([np.ones(n_buyers * n_leaves), model.node_supply.astype(float)])
    c = -(tree.prob[None, :] * model.values).ravel()
    res = opt.milp(
        c,
        constraints=opt.LinearConstraint(A, -np.inf, ub),
        bounds=opt.Bounds(0, 1),
        integrality=np.ones(c.shape[0]),
        options={"time_limit": time_limit, "mip_rel_gap": 1e-9},
    )
    status = "optimal" if res.status == 0 else f"status {res.status}"
    return (float(-res.fun) if res.x is not None else float("nan")), status


def pyomo_highs(
    model: TTPModel, limit: float, gap: float = 1e-9, tolerances: tuple[float, float] | None = None
) -> dict:
    """[P0] as a user writes it in Pyomo (one integer variable per buyer and node), HiGHS MIP;
    ``tolerances`` (primal, dual) replace HiGHS's defaults (1e-7) when given (the primal one
    also as the MIP feasibility tolerance)."""
    import pyomo.environ as pe

    tree = model.tree
    n_buyers, n_nodes = model.values.shape
    start = time.perf_counter()
    counts = model.counts.tolist()
    can = model.can_buy.tolist()
    anc = tree.ancestors.tolist()
    m = pe.ConcreteModel()
    m.I = pe.RangeSet(0, n_buyers - 1)
    m.N = pe.RangeSet(0, n_nodes - 1)
    m.L = pe.RangeSet(0, len(anc) - 1)
    m.y = pe.Var(
        m.I,
        m.N,
        domain=pe.NonNegativeIntegers,
        bounds=lambda m, i, n: (0, counts[i] if can[i][n] else 0),
    )
    w = (tree.prob[None, :] * model.values).tolist()
    m.obj = pe.Objective(expr=sum(w[i][n] * m.y[i, n] for i in m.I for n in m.N), sense=pe.maximize)
    m.once = pe.Constraint(
        m.I, m.L, rule=lambda m, i, leaf: sum(m.y[i, n] for n in anc[leaf]) <= counts[i]
    )
    mu = model.node_supply.tolist()
    if model.carry_over:  # unsold permits carry over: a stock s(n) after the market at n
        parent = tree.parent.tolist()
        m.s = pe.Var(m.N, domain=pe.NonNegativeReals)
        m.stock = pe.Constraint(
            m.N,
            rule=lambda m, n: (
                sum(m.y[i, n] for i in m.I) + m.s[n]
                == mu[n] + (m.s[parent[n]] if parent[n] >= 0 else 0)
            ),
        )
    else:
        m.supply = pe.Constraint(m.N, rule=lambda m, n: sum(m.y[i, n] for i in m.I) <= mu[n])
    build_s = time.perf_counter() - start
    solver = pe.SolverFactory("appsi_highs")
    solver.config.time_limit = max(1.0, limit - build_s)
    solver.config.mip_gap = gap
    if tolerances is not None:
        primal, dual = tolerances
        solver.highs_options = {
            "primal_feasibility_tolerance": primal,
            "dual_feasibility_tolerance": dual,
            "mip_feasibility_tolerance": primal,
        }
    start = time.perf_counter()
    result = solver.solve(m)
    solve_s = time.perf_counter() - start
    return {
        "objective": float(pe.value(m.obj)),
        "bound": float(result.problem.upper_bound),
        "status": str(result.solver.termination_condition),
        "build_s": build_s,
        "solve_s": solve_s,
    }


def scipy_highs_lp(model: TTPModel, limit: float) -> dict:
    """treemarket's pruned LP relaxation [P1] on ``scipy.optimize.linprog(method="highs")``."""
    import scipy.optimize as opt
    import scipy.sparse as sp

    from treemarket.ttp.formulation import build

    start = time.perf_counter()
    form = build(model, "path", integer=False)
    lp = form.lp
    A = sp.csr_array(lp.A)
    eq = lp.row_lower == lp.row_upper
    upper = ~eq & np.isfinite(lp.row_upper)
    lower = ~eq & np.isfinite(lp.row_lower)
    A_ub = sp.vstack([A[upper], -A[lower]]).tocsr()
    b_ub = np.concatenate([lp.row_upper[upper], -lp.row_lower[lower]])
    bounds = np.column_stack([lp.col_lower, lp.col_upper])
    sign = -1.0 if lp.maximize else 1.0
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    res = opt.linprog(
        sign * lp.c,
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A[eq] if eq.any() else None,
        b_eq=lp.row_upper[eq] if eq.any() else None,
        bounds=bounds,
        method="highs",
        options={"time_limit": limit},
    )
    solve_s = time.perf_counter() - start
    row = {
        "status": res.message.split(":")[0] if res.status else "optimal",
        "build_s": build_s,
        "solve_s": solve_s,
        "columns": int(lp.n_cols),
    }
    if res.status == 0:
        row["objective"] = float(sign * res.fun * form.scale)
    return row


def glop_lp(model: TTPModel, limit: float) -> dict:
    """[P1] on OR-Tools GLOP (the pruned path formulation of treemarket)."""
    from ortools.linear_solver.python import model_builder as mb

    from treemarket.ttp.formulation import build

    form = build(model, "path", integer=False)
    lp = form.lp
    A = lp.A.tocsr()
    m = mb.Model()
    helper = m.helper
    for j in range(lp.n_cols):
        helper.add_var()
        helper.set_var_lower_bound(j, 0.0)
        helper.set_var_upper_bound(j, float(lp.col_upper[j]))
        helper.set_var_objective_coefficient(j, float(lp.c[j] * form.scale))
    for r in range(lp.n_rows):
        k = helper.add_linear_constraint()
        helper.set_constraint_upper_bound(k, float(lp.row_upper[r]))
        helper.set_constraint_lower_bound(k, -np.inf)
        for idx in range(A.indptr[r], A.indptr[r + 1]):
            helper.add_term_to_constraint(k, int(A.indices[idx]), float(A.data[idx]))
    helper.set_maximize(True)
    solver = mb.Solver("glop")
    solver.set_time_limit_in_seconds(limit)
    start = time.perf_counter()
    status = solver.solve(m)
    solve_s = time.perf_counter() - start
    row: dict = {"solve_s": solve_s, "status": str(status)}
    if status == mb.SolveStatus.OPTIMAL:
        row["objective"] = row["bound"] = float(solver.objective_value)
    return row
