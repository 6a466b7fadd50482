"""The conic backend: Nash (log-utility) programs, solved by Clarabel through cvxpy.

A :class:`NashProgram` is, in arrays,

    maximize   Σ_k w_k log(u_k),      u = F x + g
    subject to row_lower ≤ A x ≤ row_upper,   col_lower ≤ x ≤ col_upper,

and :func:`solve_nash` returns a :class:`ConicSolution`: the primal point, the duals and a status.
Model code builds the arrays and never calls cvxpy itself (as LPs go through
:mod:`treemarket.solvers.base`); cvxpy is imported inside :func:`solve_nash`.

Duals are the derivatives of the optimal value with respect to the bounds: ``row_duals[i] ≥ 0``
when the upper bound of row ``i`` binds, ``≤ 0`` when its lower bound binds, 0 when neither does
(likewise ``col_duals``), so that at an optimum

    Σ_k w_k F_k / u_k = Aᵀ row_duals + col_duals.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from treemarket.errors import SolverError

FloatArray = NDArray[np.float64]

#: ``auto`` writes an equally weighted objective with ``cp.geo_mean`` up to this many terms, and
#: above as a tree of second-order cones (cvxpy builds ``geo_mean`` in about ``m^2.5`` time).
GEO_MEAN_MAX = 64
FORMULATIONS: tuple[str, ...] = ("auto", "geo_mean", "soc", "log")


@dataclass
class NashProgram:
    """``max Σ_k w_k log((F x + g)_k)`` over ``row_lower ≤ A x ≤ row_upper``,
    ``col_lower ≤ x ≤ col_upper``.

    Bounds may be infinite; a row with ``row_lower == row_upper`` is an equation. ``weights``
    default to 1; they must be positive.
    """

    F: sp.csr_array
    g: FloatArray
    A: sp.csr_array
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    weights: FloatArray | None = None

    @property
    def n_cols(self) -> int:
        """Number of variables ``x``."""
        return int(self.F.shape[1])

    @property
    def n_rows(self) -> int:
        """Number of rows of ``A``."""
        return int(self.A.shape[0])

    @property
    def n_terms(self) -> int:
        """Number of logarithms in the objective (rows of ``F``)."""
        return int(self.F.shape[0])

    def weight_vector(self) -> FloatArray:
        """``w`` (ones when ``weights`` is None)."""
        if self.weights is None:
            return np.ones(self.n_terms)
        return np.asarray(self.weights, dtype=np.float64)

    def objective(self, x: ArrayLike) -> float:
        """``Σ_k w_k log u_k`` at ``x`` (``-inf`` when some ``u_k ≤ 0``)."""
        u = self.F @ np.asarray(x, dtype=np.float64) + self.g
        if u.size and u.min() <= 0:
            return -np.inf
        return float(self.weight_vector() @ np.log(u))


@dataclass
class ConicSolution:
    """What :func:`solve_nash` returns.

    ``status`` is ``optimal``, ``optimal_inaccurate`` (Clarabel stopped at reduced accuracy),
    ``infeasible`` (no ``x`` meets the constraints with every ``u_k > 0``), ``unbounded``,
    ``limit`` (an iteration or time limit) or ``error``. ``x``, the duals and the objective are
    set when :attr:`ok`. An interior-point answer is accurate to about the tolerance, not exact.
    """

    status: str
    x: FloatArray | None = None
    objective: float = float("nan")
    row_duals: FloatArray | None = None
    col_duals: FloatArray | None = None
    formulation: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """An optimum was found (perhaps at reduced accuracy)."""
        return self.status in ("optimal", "optimal_inaccurate")


_STATUS = {
    "optimal": "optimal",
    "optimal_inaccurate": "optimal_inaccurate",
    "infeasible": "infeasible",
    "infeasible_inaccurate": "infeasible",
    "unbounded": "unbounded",
    "unbounded_inaccurate": "unbounded",
    "user_limit": "limit",
}


def solve_nash(
    program: NashProgram,
    *,
    formulation: str = "auto",
    tol: float = 1e-10,
    max_iter: int | None = None,
) -> ConicSolution:
    """Solve a :class:`NashProgram` with Clarabel (through cvxpy).

    Parameters
    ----------
    program : NashProgram
    formulation : {"auto", "geo_mean", "soc", "log"}
        How the objective is written. Equal weights have the maximizer of the geometric mean
        ``(Π_k u_k)^{1/m}``: ``geo_mean`` (cvxpy's power cones) or ``soc`` (a balanced binary
        tree of 2-variable geometric means, one vectorized second-order cone per level; fast to
        build for any ``m``). ``log``: ``Σ_k w_k log u_k`` with exponential cones, for any
        positive weights (Clarabel is less accurate on these). ``auto``: ``geo_mean`` up to
        ``GEO_MEAN_MAX`` equal-weight terms, ``soc`` above, ``log`` for unequal weights.
    tol : float
        Clarabel's gap and feasibility tolerances.
    max_iter : int, optional
        Clarabel's iteration limit (its default when None).

    Returns
    -------
    ConicSolution

    Raises
    ------
    SolverError
        When Clarabel fails (rather than reporting a status).
    ValueError
        For an unknown formulation, unequal weights with ``geo_mean`` or ``soc``, or arrays of
        the wrong shapes.

    Examples
    --------
    ``max log x_1 + 3 log x_2`` with ``x_1 + x_2 ≤ 1``: ``x = w / Σw``, and the budget's dual is
    ``Σw / 1``:

    >>> import scipy.sparse as sp
    >>> program = NashProgram(
    ...     F=sp.csr_array(np.eye(2)), g=np.zeros(2), A=sp.csr_array(np.ones((1, 2))),
    ...     row_lower=np.array([-np.inf]), row_upper=np.array([1.0]),
    ...     col_lower=np.zeros(2), col_upper=np.full(2, np.inf), weights=np.array([1.0, 3.0]))
    >>> sol = solve_nash(program)
    >>> sol.status, sol.formulation, np.round(sol.x, 4).tolist(), round(float(sol.row_duals[0]), 3)
    ('optimal', 'log', [0.25, 0.75], 4.0)
    """
    w = program.weight_vector()
    m, n = program.n_terms, program.n_cols
    _check_shapes(program, w)
    equal = bool(np.all(w == w[0]))
    if formulation == "auto":
        formulation = ("geo_mean" if m <= GEO_MEAN_MAX else "soc") if equal else "log"
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown formulation {formulation!r}; known: {', '.join(FORMULATIONS)}")
    if formulation in ("geo_mean", "soc") and not equal:
        raise ValueError(f"formulation {formulation!r} needs equal weights; use 'log'")

    import cvxpy as cp

    x = cp.Variable(n)
    u = program.F @ x + program.g
    row_bounds = (
        _bounds(program.A @ x, program.row_lower, program.row_upper) if program.n_rows else []
    )
    col_bounds = _bounds(x, program.col_lower, program.col_upper)
    constraints: list[Any] = [con for con, _, _ in row_bounds + col_bounds]

    scale_top: float | None = None  # terms under the geometric mean (the soc tree pads to 2^L)
    if formulation == "log":
        objective = cp.sum(cp.multiply(w, cp.log(u)))
    elif formulation == "geo_mean":
        objective = cp.geo_mean(u)
        scale_top = float(m)
    else:
        size = 1 << int(np.ceil(np.log2(max(m, 2))))
        level = u if size == m else cp.hstack([u, np.ones(size - m)])
        while level.shape[0] > 1:
            half = cp.Variable(level.shape[0] // 2, nonneg=True)
            left, right = level[0::2], level[1::2]
            # half ≤ sqrt(left · right)  <=>  ||(2 half, left − right)|| ≤ left + right
            constraints.append(cp.SOC(left + right, cp.vstack([2 * half, left - right]), axis=0))
            level = half
        objective = level[0]
        scale_top = float(size)
    problem = cp.Problem(cp.Maximize(objective), constraints)
    options: dict[str, Any] = {
        "tol_gap_abs": tol,
        "tol_gap_rel": tol,
        "tol_feas": tol,
        "tol_ktratio": 1e-8,
    }
    if max_iter is not None:
        options["max_iter"] = max_iter
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=cp.CLARABEL, **options)
    except cp.error.SolverError as exc:
        raise SolverError(f"Clarabel failed: {exc}") from None
    info: dict[str, Any] = {"cvxpy_status": problem.status}
    status = _STATUS.get(problem.status, "error")
    if status not in ("optimal", "optimal_inaccurate") or x.value is None:
        return ConicSolution(status, formulation=formulation, info=info)
    xv = np.asarray(x.value, dtype=np.float64)
    value = program.objective(xv)
    # the duals of max Σ w log u: those of max G (a geometric mean of M terms, one weight w_0)
    # times d(w_0 M log G)/dG = w_0 M / G
    factor = 1.0
    if scale_top is not None:
        top = float(problem.value)
        if not top > 0:  # every feasible x leaves some u_k at 0: Σ log u is -inf throughout
            return ConicSolution("infeasible", formulation=formulation, info=info)
        factor = float(w[0]) * scale_top / top
    return ConicSolution(
        status,
        xv,
        value,
        _duals(row_bounds, program.n_rows, factor),
        _duals(col_bounds, n, factor),
        formulation,
        info,
    )


Bound = tuple[Any, NDArray[np.bool_], float]  # (cvxpy constraint, its rows, sign of its dual)


def _bounds(expr: Any, lower: FloatArray, upper: FloatArray) -> list[Bound]:
    """``lower ≤ expr ≤ upper`` as cvxpy constraints: equations, lower and upper bounds, each
    over the rows where it is finite."""
    lo, up = np.asarray(lower, np.float64), np.asarray(upper, np.float64)
    eq = np.isfinite(lo) & (lo == up)
    out: list[Bound] = []
    for rows, kind in ((eq, "=="), (np.isfinite(lo) & ~eq, ">="), (np.isfinite(up) & ~eq, "<=")):
        if not rows.any():
            continue
        idx = np.flatnonzero(rows)
        part = expr if rows.all() else expr[idx]
        if kind == "==":
            out.append((part == lo[idx], rows, 1.0))
        elif kind == ">=":
            out.append((part >= lo[idx], rows, -1.0))
        else:
            out.append((part <= up[idx], rows, 1.0))
    return out


def _duals(bounds: list[Bound], size: int, factor: float) -> FloatArray:
    """Sum the duals of the bound constraints into one vector, as derivatives of the optimum
    (cvxpy's dual of ``expr ≥ b`` is ``−d opt/d b``; of ``≤`` and ``==``, ``d opt/d b``)."""
    out = np.zeros(size)
    for con, rows, sign in bounds:
        out[rows] += sign * factor * np.asarray(con.dual_value, dtype=np.float64).reshape(-1)
    return out


def _check_shapes(program: NashProgram, w: FloatArray) -> None:
    m, n, r = program.n_terms, program.n_cols, program.n_rows
    if m == 0:
        raise ValueError("the objective has no terms")
    shapes = {
        "g": (program.g, (m,)),
        "weights": (w, (m,)),
        "row_lower": (program.row_lower, (r,)),
        "row_upper": (program.row_upper, (r,)),
        "col_lower": (program.col_lower, (n,)),
        "col_upper": (program.col_upper, (n,)),
    }
    for name, (array, shape) in shapes.items():
        if np.shape(array) != shape:
            raise ValueError(f"{name} has shape {np.shape(array)}, expected {shape}")
    if program.A.shape[1] != n:
        raise ValueError(f"A has {program.A.shape[1]} columns, F has {n}")
    if not np.all(w > 0):
        raise ValueError("weights must be positive")
