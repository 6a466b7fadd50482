"""Performance at scale (issue 5): treemarket exact and market against what users would write.

Side by side on the same generated instances (binary trees, random-walk values), each case in a
fresh process (its own peak memory) with a time limit:

* A ``pyomo``: the model as a user writes it in Pyomo, MIP solved by HiGHS (appsi_highs);
* B ``scipy``: the naive path formulation on ``scipy.optimize.milp``;
* C ``glop``: OR-Tools GLOP on the same (pruned) LP relaxation;
* treemarket ``exact`` and ``market`` (target gap 0.1%).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from harness import instance, isolated, peak_mb

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

# name -> (depth of the binary tree, buyers); variables = buyers x nodes
SIZES = {
    "1e4": (7, 40),
    "1e5": (10, 50),
    "1e6": (13, 61),
    "1e7": (15, 153),
    "1e8": (16, 763),
}


def _pyomo(model, limit):
    import pyomo.environ as pe

    tree = model.tree
    n_buyers, n_nodes = model.values.shape
    anc = tree.ancestors
    m = pe.ConcreteModel()
    m.I = pe.RangeSet(0, n_buyers - 1)
    m.N = pe.RangeSet(0, n_nodes - 1)
    m.L = pe.RangeSet(0, anc.shape[0] - 1)
    m.y = pe.Var(m.I, m.N, domain=pe.Binary)
    w = (tree.prob[None, :] * model.values).tolist()
    m.obj = pe.Objective(expr=sum(w[i][n] * m.y[i, n] for i in m.I for n in m.N), sense=pe.maximize)
    paths = anc.tolist()
    m.once = pe.Constraint(
        m.I, m.L, rule=lambda m, i, leaf: sum(m.y[i, n] for n in paths[leaf]) <= 1
    )
    mu = model.node_supply.tolist()
    m.supply = pe.Constraint(m.N, rule=lambda m, n: sum(m.y[i, n] for i in m.I) <= mu[n])
    solver = pe.SolverFactory("appsi_highs")
    solver.config.time_limit = limit
    solver.config.mip_gap = 1e-9
    start = time.perf_counter()
    result = solver.solve(m)
    solve_s = time.perf_counter() - start
    return float(pe.value(m.obj)), float(result.problem.upper_bound), solve_s


def _glop(model, limit):
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
    value = solver.objective_value if status == mb.SolveStatus.OPTIMAL else float("nan")
    return value, value, solve_s


def _case(kind: str, size: str, limit: float, gap: float, out) -> None:
    depth, buyers = SIZES[size]
    row = {"kind": kind, "size": size}
    start = time.perf_counter()
    model = instance(depth, buyers)
    _ = model.values
    row["variables"] = int(model.values.size)
    row["generate_s"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        if kind == "pyomo":
            row["objective"], row["bound"], row["solve_s"] = _pyomo(model, limit)
        elif kind == "scipy":
            from baselines import naive_path_milp

            row["objective"], row["status"] = naive_path_milp(model, time_limit=limit)
        elif kind == "glop":
            row["objective"], row["bound"], row["solve_s"] = _glop(model, limit)
        elif kind == "exact":
            from treemarket.ttp import solve_exact

            sol = solve_exact(model, price_ranges=False, time_limit=limit)
            row["objective"], row["bound"], row["gap"] = sol.welfare, sol.upper_bound, sol.gap
        elif kind == "market":
            from treemarket.ttp.market import MarketOptions, solve_market

            sol = solve_market(model, MarketOptions(target_gap=gap, time_limit=limit))
            row["objective"], row["bound"], row["gap"] = sol.welfare, sol.upper_bound, sol.gap
            row["iterations"] = sol.stats["iterations"]
            row["target_gap"] = gap
            row["per_iteration_s"] = sol.timings["market"] / sol.stats["iterations"]
    except Exception as exc:  # a baseline that cannot cope is a result, recorded as such
        row["error"] = f"{type(exc).__name__}: {exc}"[:200]
    row["seconds"] = time.perf_counter() - start
    row["peak_mb"] = peak_mb()
    out.put(row)


def run(kind: str, size: str, limit: float, gap: float = 1e-3) -> dict:
    row = isolated(_case, kind, size, limit, gap, limit=limit * 3 + 120)
    return {"kind": kind, "size": size, **row} if "error" in row else row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", default="1e4,1e5", help="comma-separated, from " + ",".join(SIZES)
    )
    parser.add_argument("--kinds", default="pyomo,scipy,glop,exact,market")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per case")
    parser.add_argument("--gap", type=float, default=1e-3, help="the market solver's target gap")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    rows = []
    for size in args.sizes.split(","):
        for kind in args.kinds.split(","):
            row = run(kind, size, args.limit, args.gap)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
