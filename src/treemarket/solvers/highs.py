"""HiGHS through highspy: dual simplex for LPs (exact vertex duals), branch and cut for MIPs.

A :class:`~treemarket.solvers.base.Start` with row duals starts an LP with crossover from that
primal-dual pair (simplex then finishes from the basis crossover found); a MIP takes its ``x``
as the first incumbent. A MIP of :data:`CHILD_COLUMNS` columns or more (an LP of
:data:`CHILD_LP_COLUMNS`) with a time limit runs in a child process stopped at the limit
(:mod:`treemarket.solvers.child`); sessions run in this process.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from treemarket.solvers.base import (
    LinearProgram,
    Solution,
    SolveOptions,
    Solver,
    SolverSession,
    Start,
)
from treemarket.solvers.child import GRACE, Stopped, call_with_deadline

_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "time_limit",
}


#: What a session tries after a solve that ended in an error: (option, value); "" is the same
#: solve from scratch.
FALLBACKS: tuple[tuple[str, int | str], ...] = (
    ("", 0),
    ("simplex_strategy", 4),
    ("solver", "ipm"),
)

#: What a session tries, each from scratch, before it reports a system infeasible when asked to
#: confirm. Both were seen to be needed: presolve declared some degenerate systems infeasible
#: (tiny conditional probabilities, a single feasible point); primal simplex, with presolve and
#: without, declared a supporting-price system of the zoo's markov_paths at 10^5 pairs
#: infeasible that dual simplex from scratch solved in 3 s.
CONFIRMS: tuple[tuple[str, int | str], ...] = (
    ("presolve", "off"),
    ("simplex_strategy", 1),
)

#: MIPs with a time limit run in a child process from this many columns up: HiGHS's presolve
#: does not look at the clock (2.3·10^5 columns: 570 s past a 170 s limit; 5·10^4 columns: 17 s
#: past a 300 s one), and a child costs about a second to start.
CHILD_COLUMNS = 20_000
#: LPs with a time limit (solved in one call) run in a child from this many columns up: the
#: set-up of a warm start and crossover do not look at the clock (6.4·10^6 columns: an LP given
#: 68 s took 128 s).
CHILD_LP_COLUMNS = 1_000_000

#: a session re-solves by primal simplex when the objective changes in at most this many columns
FEW_COSTS = 8
#: a new objective's dual simplex from the last basis runs this long before primal simplex
#: takes over from that basis (HighsSession.solve_with_objective)
DUAL_SECONDS = 5.0

_banner_shown = False


def _option_value(h: highspy.Highs, name: str) -> Any:
    """An option's value (some highspy versions return it with a status)."""
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value


def _new_highs() -> highspy.Highs:
    """A HiGHS instance. HiGHS prints a banner on stdout at its first construction in a process,
    which would corrupt ``--json`` output; that first construction runs with stdout closed."""
    global _banner_shown
    if _banner_shown:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _banner_shown = True
    return h


def _highs(lp: LinearProgram, options: SolveOptions) -> highspy.Highs:
    h = _new_highs()
    h.setOptionValue("output_flag", bool(options.verbose))
    h.setOptionValue("threads", int(options.threads))
    h.setOptionValue("primal_feasibility_tolerance", options.feasibility_tol)
    h.setOptionValue("dual_feasibility_tolerance", options.optimality_tol)
    h.setOptionValue("mip_rel_gap", options.mip_rel_gap)
    h.setOptionValue("mip_abs_gap", 0.0)
    # conditional probabilities enter the price LPs as matrix entries; keep the tiny ones
    h.setOptionValue("small_matrix_value", 1e-12)
    h.setOptionValue("mip_feasibility_tolerance", options.feasibility_tol)
    model = highspy.HighsLp()
    model.num_col_ = lp.n_cols
    model.num_row_ = lp.n_rows
    model.col_cost_ = np.asarray(lp.c, dtype=np.float64)
    model.col_lower_ = np.asarray(lp.col_lower, dtype=np.float64)
    model.col_upper_ = np.asarray(lp.col_upper, dtype=np.float64)
    model.row_lower_ = np.asarray(lp.row_lower, dtype=np.float64)
    model.row_upper_ = np.asarray(lp.row_upper, dtype=np.float64)
    A = sp.csc_array(lp.A)
    A.sort_indices()
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = A.indptr.astype(np.int32)
    model.a_matrix_.index_ = A.indices.astype(np.int32)
    model.a_matrix_.value_ = A.data.astype(np.float64)
    model.sense_ = highspy.ObjSense.kMaximize if lp.maximize else highspy.ObjSense.kMinimize
    if lp.integrality is not None and lp.integrality.any():
        model.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in lp.integrality.tolist()
        ]
    h.passModel(model)
    return h


def _run_until(h: highspy.Highs, deadline: float) -> None:
    """``h.run()`` stopped at ``deadline`` (``time.monotonic()``). HiGHS compares its time limit
    with the run time summed over all runs of the instance, and crossover's time is not in
    that sum: the limit is set anew from the deadline before each run."""
    left = max(deadline - time.monotonic(), 1e-3)
    h.setOptionValue("time_limit", float(h.getRunTime()) + left if np.isfinite(left) else np.inf)
    h.run()


def _result(h: highspy.Highs, is_mip: bool, duals: bool = True) -> Solution:
    """The solve's answer; without ``duals``, no row duals (copying them costs about 1 ms at
    4·10^4 rows, a twentieth of a price range LP)."""
    status = _STATUS.get(h.getModelStatus(), "error")
    info = h.getInfo()
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=np.float64) if sol.value_valid else None
    out = Solution(status=status, x=x, iterations=int(info.simplex_iteration_count))
    if status == "error":
        out.detail = h.modelStatusToString(h.getModelStatus())
    if x is not None:
        out.objective = float(info.objective_function_value)
    if is_mip:
        out.bound = float(info.mip_dual_bound)
        out.gap = float(info.mip_gap)
        out.info["nodes"] = float(info.mip_node_count)
    elif sol.dual_valid and duals:
        out.row_duals = np.asarray(sol.row_dual, dtype=np.float64)
        out.bound = out.objective
        out.gap = 0.0
    if status == "time_limit" and x is None:
        out.status = "time_limit"
    return out


def _incumbent(h: highspy.Highs, x: NDArray[np.float64]) -> None:
    """Give the MIP ``x`` as its first incumbent (HiGHS checks its feasibility itself)."""
    sol = highspy.HighsSolution()
    sol.col_value = np.asarray(x, dtype=np.float64)
    sol.value_valid = True
    h.setSolution(sol)


def _option(h: highspy.Highs, name: str) -> Any:
    """An option's value (highspy returns it alone or with a status, by version)."""
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value


def _crossover(h: highspy.Highs, lp: LinearProgram, start: Start) -> int:
    """Crossover from ``start`` (primal x, row duals): leaves a basis for simplex to finish.

    Returns crossover's iteration count. highspy's ``crossover`` needs the simplex solver's
    data set up, which a run limited to zero iterations (without presolve) does cheaply.
    """
    assert start.row_duals is not None
    x = np.asarray(start.x, dtype=np.float64)
    row_dual = np.asarray(start.row_duals, dtype=np.float64)
    sol = highspy.HighsSolution()
    sol.col_value = x
    sol.row_value = np.asarray(lp.A @ x, dtype=np.float64)
    sol.value_valid = True
    sol.col_dual = np.asarray(lp.c - lp.A.T @ row_dual, dtype=np.float64)
    sol.row_dual = row_dual
    sol.dual_valid = True
    limit = _option(h, "simplex_iteration_limit")
    presolve = _option(h, "presolve")
    h.setOptionValue("simplex_iteration_limit", 0)
    h.setOptionValue("presolve", "off")
    h.run()
    h.setOptionValue("simplex_iteration_limit", limit)
    status = h.crossover(sol)
    h.setOptionValue("presolve", presolve)
    if status == highspy.HighsStatus.kError or not h.getBasis().valid:
        h.clearSolver()  # start cold
        return 0
    return max(0, int(h.getInfo().crossover_iteration_count))


class HighsSolver(Solver):
    """The default backend (HiGHS); simplex for LPs so that duals are vertex duals."""

    name = "highs"
    supports_start = True

    def solve(
        self, lp: LinearProgram, options: SolveOptions | None = None, start: Start | None = None
    ) -> Solution:
        options = options or SolveOptions()
        is_mip = lp.integrality is not None and bool(lp.integrality.any())
        limit = options.time_limit
        child = CHILD_COLUMNS if is_mip else CHILD_LP_COLUMNS
        if np.isfinite(limit) and lp.n_cols >= child:
            # HiGHS stops itself GRACE seconds before the limit (half of it, for short limits),
            # and the child is killed at the limit if it has not answered by then
            deadline = time.monotonic() + max(limit - GRACE, limit / 2)
            try:
                return call_with_deadline(
                    _solve_until, (lp, options, start, deadline), max(0.0, limit - GRACE)
                )
            except Stopped as stopped:
                return Solution("time_limit", detail=str(stopped))
            except RuntimeError as error:
                return Solution("error", detail=str(error))
        return _solve_until(lp, options, start, time.monotonic() + limit)

    def session(self, lp: LinearProgram, options: SolveOptions | None = None) -> SolverSession:
        return _HighsSession(lp, options or SolveOptions())


def _solve_until(
    lp: LinearProgram, options: SolveOptions, start: Start | None, deadline: float
) -> Solution:
    """:meth:`HighsSolver.solve` in this process, stopped at ``deadline``."""
    if lp.n_cols == 0:
        return Solution("optimal", np.zeros(0), 0.0, np.zeros(lp.n_rows), 0.0, 0.0)
    h = _highs(lp, options)
    is_mip = lp.integrality is not None and bool(lp.integrality.any())
    crossover = 0
    if is_mip:
        if start is not None:
            _incumbent(h, start.x)
    else:
        h.setOptionValue("solver", "simplex")
        h.setOptionValue("simplex_strategy", 4 if options.simplex == "primal" else 1)
        if start is not None and start.row_duals is not None:
            crossover = _crossover(h, lp, start)
    _run_until(h, deadline)
    result = _result(h, is_mip)
    if crossover and result.status == "error":  # as in the session: from scratch
        h.clearSolver()
        _run_until(h, deadline)
        result, crossover = _result(h, is_mip), 0
    if crossover:
        result.info["crossover_iterations"] = float(crossover)
    return result


class _HighsSession(SolverSession):
    """Keeps one HiGHS instance; every solve starts from the previous basis."""

    def __init__(self, lp: LinearProgram, options: SolveOptions) -> None:
        self.lp = lp.relaxation()
        self.deadline = time.monotonic() + options.time_limit  # every run stops there
        self.options = options
        self.h = _highs(self.lp, options)
        self.h.setOptionValue("solver", "simplex")
        self.primal_from_scratch = options.simplex == "primal"
        self.maximize = lp.maximize  # the sense of the last solve
        self.based = False  # a basis was set (a fork): the next solve goes on from it
        self.h.setOptionValue("simplex_strategy", 4 if self.primal_from_scratch else 1)
        self.n = lp.n_cols
        self.index = np.arange(self.n, dtype=np.int32)
        self.changed = np.zeros(0, dtype=np.int64)  # columns whose bounds differ from the LP's
        self.cost = np.array(self.lp.c, dtype=np.float64)  # the objective of the last solve

    def solve_with_objective(self, c: NDArray[np.float64], maximize: bool) -> Solution:
        c = np.asarray(c, dtype=np.float64)
        # A new objective leaves the last vertex primal feasible. When it changes in a few
        # columns, primal simplex goes on from there (one price range LP at 1.6·10^4 nodes:
        # half the time of dual simplex); otherwise dual simplex from the last basis (the
        # ranges' sum LPs: about half the time of solving them from scratch, on 3 families).
        # From scratch: the method the options name.
        changed = np.nonzero(c != self.cost)[0].astype(np.int32)
        few = changed.size <= FEW_COSTS
        warm = self.based or self.h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        primal = few if warm else self.primal_from_scratch
        self.h.setOptionValue("simplex_strategy", 4 if primal else 1)
        self.cost, self.maximize, self.based = c.copy(), maximize, False
        if changed.size:
            self.h.changeColsCost(changed.size, changed, c[changed])
        sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        self.h.changeObjectiveSense(sense)
        if warm and not few:
            # Dual simplex can take thousands of costly pivots where primal simplex, from the
            # last vertex (still feasible), needs few: 23 s against 1.6 s on one price range
            # LP. The dual gets DUAL_SECONDS; then primal simplex starts from that vertex.
            basis = self.h.getBasis()
            short = min(self.deadline, time.monotonic() + DUAL_SECONDS)
            result = self._run(confirm_infeasible=True, deadline=short, duals=False)
            if result.status != "time_limit" or time.monotonic() >= self.deadline:
                return result
            self.h.setBasis(basis)
            self.h.setOptionValue("simplex_strategy", 4)
        return self._run(confirm_infeasible=True, duals=False)

    def fork(self) -> _HighsSession:
        left = max(0.0, self.deadline - time.monotonic())
        other = _HighsSession(self.lp, replace(self.options, time_limit=left))
        other.cost, other.maximize = self.cost.copy(), self.maximize
        other.h.changeColsCost(self.n, self.index, other.cost)
        sense = highspy.ObjSense.kMaximize if self.maximize else highspy.ObjSense.kMinimize
        other.h.changeObjectiveSense(sense)
        basis = self.h.getBasis()
        if basis.valid:
            other.h.setBasis(basis)
            other.based = True
        return other

    def solve_from(self, start: Start | None = None) -> Solution:
        crossover = 0
        if start is not None and start.row_duals is not None:
            crossover = _crossover(self.h, self.lp, start)
        result = self._run()
        if crossover and result.status == "error":
            # a start with node probabilities near the tolerances can leave simplex stuck
            # (seen on the skewed-probabilities family): the same LP from scratch
            self.h.clearSolver()
            result = self._run()
            crossover = 0
        if crossover:
            result.info["crossover_iterations"] = float(crossover)
        return result

    def solve_with_bounds(
        self, index: NDArray[np.int64], lower: NDArray[np.float64], upper: NDArray[np.float64]
    ) -> Solution:
        restore = np.setdiff1d(self.changed, index)
        if restore.size:
            self.h.changeColsBounds(
                restore.size,
                restore.astype(np.int32),
                self.lp.col_lower[restore],
                self.lp.col_upper[restore],
            )
        if index.size:
            self.h.changeColsBounds(
                index.size,
                np.asarray(index, dtype=np.int32),
                np.asarray(lower, dtype=np.float64),
                np.asarray(upper, dtype=np.float64),
            )
        self.changed = np.asarray(index, dtype=np.int64)
        return self._run()

    def vertex_extremes(
        self,
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]] | None:
        if self.n == 0 or self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        # at the zero objective every basis of the vertex is optimal; cost ranging then says
        # for which c_j > 0 (c_j < 0) it stays optimal when minimizing c_j x_j
        self.cost, self.maximize = np.zeros(self.n), False
        self.h.changeColsCost(self.n, self.index, self.cost)
        self.h.changeObjectiveSense(highspy.ObjSense.kMinimize)
        _run_until(self.h, self.deadline)
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        status, ranging = self.h.getRanging()
        if status != highspy.HighsStatus.kOk or not ranging.valid:
            return None
        x = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        up = np.asarray(ranging.col_cost_up.value_, dtype=np.float64)
        down = np.asarray(ranging.col_cost_dn.value_, dtype=np.float64)
        return x, up > 0.0, down < 0.0

    def _run(
        self, confirm_infeasible: bool = False, deadline: float | None = None, duals: bool = True
    ) -> Solution:
        """Run HiGHS until ``deadline`` (``time.monotonic()``; the session's by default);
        ``duals``: with the row duals."""
        if self.n == 0:
            return Solution("optimal", np.zeros(0), 0.0, np.zeros(self.lp.n_rows), 0.0, 0.0)
        deadline = self.deadline if deadline is None else deadline
        _run_until(self.h, deadline)
        result = _result(self.h, False, duals)
        # simplex can end in an unknown state near the tolerances (node probabilities of
        # 1e-30): FALLBACKS, in order; an infeasible system to confirm: CONFIRMS, in order
        remedies = {"error": iter(FALLBACKS), "infeasible": iter(CONFIRMS)}
        if not confirm_infeasible:
            del remedies["infeasible"]
        while result.status in remedies:
            step = next(remedies[result.status], None)
            if step is None:
                break
            result = self._again(*step, deadline, duals)
        return result

    def _again(self, option: str, value: int | str, deadline: float, duals: bool) -> Solution:
        """The last solve again from scratch, with ``option`` set to ``value`` for it ("": as
        it was); ``duals``: with the row duals."""
        self.h.clearSolver()
        if not option:
            _run_until(self.h, deadline)
        else:
            previous = _option_value(self.h, option)
            self.h.setOptionValue(option, value)
            _run_until(self.h, deadline)
            self.h.setOptionValue(option, previous)
        return _result(self.h, False, duals)
