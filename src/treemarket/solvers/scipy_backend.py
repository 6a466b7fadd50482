"""scipy's ``linprog``/``milp`` (HiGHS inside scipy): a second backend for the conformance suite."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import scipy.optimize as opt
import scipy.sparse as sp

from treemarket.solvers.base import LinearProgram, Solution, SolveOptions, Solver, Start


class ScipySolver(Solver):
    """LPs by ``scipy.optimize.linprog(method="highs-ds")``, MIPs by ``scipy.optimize.milp``."""

    name = "scipy"

    def solve(
        self, lp: LinearProgram, options: SolveOptions | None = None, start: Start | None = None
    ) -> Solution:
        """``start`` is ignored (scipy takes no starting point)."""
        options = options or SolveOptions()
        if lp.n_cols == 0:
            return Solution("optimal", np.zeros(0), 0.0, np.zeros(lp.n_rows), 0.0, 0.0)
        sign = -1.0 if lp.maximize else 1.0
        c = sign * np.asarray(lp.c, dtype=np.float64)
        A = sp.csr_array(lp.A)
        limit = None if not np.isfinite(options.time_limit) else options.time_limit
        if lp.integrality is not None and lp.integrality.any():
            res = opt.milp(
                c,
                constraints=opt.LinearConstraint(A, lp.row_lower, lp.row_upper),
                bounds=opt.Bounds(lp.col_lower, lp.col_upper),
                integrality=lp.integrality.astype(int),
                options=cast(Any, {"mip_rel_gap": options.mip_rel_gap, "time_limit": limit}),
            )
            if res.x is None:
                return Solution(status=_status(res.status))
            objective = sign * float(res.fun)
            bound = sign * float(getattr(res, "mip_dual_bound", res.fun))
            return Solution(
                status=_status(res.status),
                x=res.x,
                objective=objective,
                bound=bound,
                gap=float(getattr(res, "mip_gap", 0.0)),
            )
        # linprog wants A_ub x <= b_ub and A_eq; split the two-sided rows
        lo, up = np.asarray(lp.row_lower), np.asarray(lp.row_upper)
        eq = lo == up
        has_up = np.isfinite(up) & ~eq
        has_lo = np.isfinite(lo) & ~eq
        A_ub = sp.vstack([A[has_up], -A[has_lo]]).tocsr()
        b_ub = np.concatenate([up[has_up], -lo[has_lo]])
        res = opt.linprog(  # type: ignore[call-overload]  # stubs: no sparse A, no (n, 2) bounds
            c,
            A_ub=A_ub if A_ub.shape[0] else None,
            b_ub=b_ub if A_ub.shape[0] else None,
            A_eq=A[eq] if eq.any() else None,
            b_eq=lo[eq] if eq.any() else None,
            bounds=np.column_stack([lp.col_lower, lp.col_upper]),
            method="highs-ds",
            options=cast(
                Any,
                {
                    "time_limit": limit,
                    "primal_feasibility_tolerance": options.feasibility_tol,
                    "dual_feasibility_tolerance": options.optimality_tol,
                },
            ),
        )
        if res.x is None:
            return Solution(status=_status(res.status))
        duals = np.zeros(lp.n_rows)
        n_up = int(has_up.sum())
        if A_ub.shape[0]:
            m = res.ineqlin.marginals
            duals[has_up] += m[:n_up]
            duals[has_lo] -= m[n_up:]
        if eq.any():
            duals[eq] = res.eqlin.marginals
        objective = sign * float(res.fun)
        # scipy reports d(min objective)/d(b); convert to the sign convention of the LP's sense
        return Solution(
            status="optimal",
            x=res.x,
            objective=objective,
            row_duals=sign * duals,
            bound=objective,
            gap=0.0,
        )


def _status(code: int) -> str:
    return {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded"}.get(code, "error")
