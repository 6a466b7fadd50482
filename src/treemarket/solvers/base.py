"""The one small interface every LP/MIP backend implements.

A :class:`LinearProgram` is ``max/min c·x  s.t.  row_lower ≤ A x ≤ row_upper,
col_lower ≤ x ≤ col_upper``, some ``x`` integer. Backends return a :class:`Solution` with the
primal values, the row duals (for LPs), the objective and, for MIPs, the proven bound. A
:class:`Start` (a known point, with row duals for an LP) may speed a solve up; backends without
warm starts ignore it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

INF = np.inf
#: ``progress(step, bound, value, gap)``: what an iterative solver reports after each step (an
#: iteration of the market solver, a node of branch and bound)
Progress = Callable[[int, float, float, float], None]


@dataclass
class LinearProgram:
    """A linear (or mixed-integer) program in arrays; ``A`` is a scipy sparse matrix."""

    c: NDArray[np.float64]
    A: sp.csc_array
    row_lower: NDArray[np.float64]
    row_upper: NDArray[np.float64]
    col_lower: NDArray[np.float64]
    col_upper: NDArray[np.float64]
    integrality: NDArray[np.bool_] | None = None
    maximize: bool = True

    @property
    def n_cols(self) -> int:
        return int(self.c.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.row_lower.shape[0])

    def relaxation(self) -> LinearProgram:
        """The same program with every integrality requirement dropped."""
        return LinearProgram(
            self.c,
            self.A,
            self.row_lower,
            self.row_upper,
            self.col_lower,
            self.col_upper,
            None,
            self.maximize,
        )


@dataclass
class Solution:
    """What a backend returns.

    ``status`` is one of ``optimal``, ``infeasible``, ``unbounded``, ``time_limit``, ``error``.
    For a MIP, ``bound`` is the solver's proven bound on the optimum (``objective`` itself when
    proven optimal within the relative gap ``gap``). ``detail`` is the backend's own word for
    an ``error`` (e.g. HiGHS's model status), empty otherwise.
    """

    status: str
    x: NDArray[np.float64] | None = None
    objective: float = float("nan")
    row_duals: NDArray[np.float64] | None = None
    bound: float = float("nan")
    gap: float = float("nan")
    iterations: int = 0
    info: dict[str, float] = field(default_factory=dict)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "optimal"


@dataclass
class Start:
    """A starting point: a primal point ``x`` and, for an LP, row duals in the LP's own sign
    convention (those a backend returns in :attr:`Solution.row_duals`).

    For an LP with ``row_duals`` the HiGHS backend runs crossover from the pair, then simplex
    from the basis it finds; the answer is still an optimal vertex. For a MIP a feasible ``x``
    is the first incumbent. Neither changes the optimum, only the time to reach it.
    """

    x: NDArray[np.float64]
    row_duals: NDArray[np.float64] | None = None


@dataclass
class SolveOptions:
    """Tolerances tight enough for answers right to about 1e-9 relative."""

    time_limit: float = INF
    mip_rel_gap: float = 1e-10
    feasibility_tol: float = 1e-9
    optimality_tol: float = 1e-10
    threads: int = 1
    verbose: bool = False
    #: the simplex method of an LP solved from scratch (a session's first solve included),
    #: where the backend has the choice
    simplex: Literal["dual", "primal"] = "dual"


class Solver(ABC):
    """A backend. Subclasses implement :meth:`solve`; :meth:`session` for repeated solves."""

    name: str = "abstract"
    supports_start: bool = False  # does :meth:`solve` use a :class:`Start`?

    @abstractmethod
    def solve(
        self, lp: LinearProgram, options: SolveOptions | None = None, start: Start | None = None
    ) -> Solution:
        """Solve ``lp`` once, from ``start`` where the backend can use it."""

    def session(self, lp: LinearProgram, options: SolveOptions | None = None) -> SolverSession:
        """A handle that re-solves ``lp`` after objective changes, warm-started where possible."""
        return _ColdSession(self, lp, options)


class SolverSession(ABC):
    """Repeated solves of one LP (its relaxation) that differ a little: a new objective, or
    some columns' bounds changed (branch and bound); backends re-solve from the last basis."""

    @abstractmethod
    def solve_with_objective(self, c: NDArray[np.float64], maximize: bool) -> Solution:
        """Solve with the objective ``c`` (the point; backends may leave the row duals out:
        the callers, the price ranges, need points only)."""

    @abstractmethod
    def solve_from(self, start: Start | None = None) -> Solution:
        """Solve the program as given (from ``start`` where the backend can use it)."""

    @abstractmethod
    def solve_with_bounds(
        self, index: NDArray[np.int64], lower: NDArray[np.float64], upper: NDArray[np.float64]
    ) -> Solution:
        """Solve with columns ``index`` bounded by ``lower``/``upper`` (the others as given)."""

    def fork(self) -> SolverSession | None:
        """A new session of the same program that goes on from this one's last basis and
        objective and then runs on its own: another thread may use it while this one is in
        use. Column bounds changed by :meth:`solve_with_bounds` are not carried over. ``None``
        where the backend cannot (the caller then keeps to this session)."""
        return None

    def vertex_extremes(
        self,
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]] | None:
        """The last solve's vertex ``x`` and the columns it provably minimizes and maximizes
        over the feasible set: those whose ``x_j`` alone as the objective leaves its basis
        optimal (cost ranging at the zero objective). ``None`` where the backend cannot tell
        or no basis is at hand; a column not marked may still be at its extreme."""
        return None


class _ColdSession(SolverSession):
    """Every solve from scratch (backends without warm starts)."""

    def __init__(self, solver: Solver, lp: LinearProgram, options: SolveOptions | None) -> None:
        self.solver, self.lp, self.options = solver, lp.relaxation(), options

    def solve_with_objective(self, c: NDArray[np.float64], maximize: bool) -> Solution:
        return self.solver.solve(replace(self.lp, c=c, maximize=maximize), self.options)

    def solve_from(self, start: Start | None = None) -> Solution:
        return self.solver.solve(self.lp, self.options, start)

    def solve_with_bounds(
        self, index: NDArray[np.int64], lower: NDArray[np.float64], upper: NDArray[np.float64]
    ) -> Solution:
        col_lower, col_upper = self.lp.col_lower.copy(), self.lp.col_upper.copy()
        col_lower[index], col_upper[index] = lower, upper
        lp = replace(self.lp, col_lower=col_lower, col_upper=col_upper)
        return self.solver.solve(lp, self.options)
