"""The conic backend (Nash programs): closed forms, feasibility, the KKT conditions from its duals,
the statuses and the errors."""

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

from treemarket.errors import SolverError
from treemarket.solvers.conic import ConicSolution, NashProgram, solve_nash

INF = np.inf
#: Accuracy of the points and duals of each formulation on these small problems (an objective
#: gap of 1e-10 leaves the point right to about its square root; exponential cones are looser).
TOL = {"geo_mean": 2e-5, "soc": 2e-5, "log": 1e-3}


def _program(F, g, A, lower, upper, col_lower, col_upper, weights=None):
    return NashProgram(
        F=sp.csr_array(np.asarray(F, dtype=float)),
        g=np.asarray(g, dtype=float),
        A=sp.csr_array(np.asarray(A, dtype=float)),
        row_lower=np.asarray(lower, dtype=float),
        row_upper=np.asarray(upper, dtype=float),
        col_lower=np.asarray(col_lower, dtype=float),
        col_upper=np.asarray(col_upper, dtype=float),
        weights=None if weights is None else np.asarray(weights, dtype=float),
    )


def _budget(weights, budget=1.0):
    """``max Σ w_k log x_k`` with ``Σ x ≤ budget``, ``x ≥ 0``."""
    m = len(weights)
    return _program(
        np.eye(m),
        np.zeros(m),
        np.ones((1, m)),
        [-INF],
        [budget],
        np.zeros(m),
        np.full(m, INF),
        weights,
    )


def _kkt(program: NashProgram, sol: ConicSolution, tol: float) -> None:
    """Feasibility, stationarity, the signs of the duals and complementary slackness."""
    x, y, z = sol.x, sol.row_duals, sol.col_duals
    assert x is not None and y is not None and z is not None
    u = program.F @ x + program.g
    assert u.min() > 0
    Ax = program.A @ x
    scale = 1.0 + np.abs(Ax).max()
    assert np.all(Ax >= program.row_lower - tol * scale)
    assert np.all(Ax <= program.row_upper + tol * scale)
    assert np.all(x >= program.col_lower - tol) and np.all(x <= program.col_upper + tol)
    gradient = program.F.T @ (program.weight_vector() / u)
    big = 1.0 + np.abs(gradient).max()
    np.testing.assert_allclose(gradient, program.A.T @ y + z, atol=tol * big * 10)
    for value, at, lo, up in (
        (y, Ax, program.row_lower, program.row_upper),
        (z, x, program.col_lower, program.col_upper),
    ):
        # a positive dual only where the upper bound binds, a negative one where the lower does
        slack_up = np.minimum(up - at, 1e6)
        slack_lo = np.minimum(at - lo, 1e6)
        assert np.all(np.maximum(value, 0) * slack_up <= tol * big * 10 * (1 + np.abs(at)))
        assert np.all(np.maximum(-value, 0) * slack_lo <= tol * big * 10 * (1 + np.abs(at)))
    assert sol.objective == pytest.approx(program.weight_vector() @ np.log(u), rel=1e-12)


@pytest.mark.parametrize("formulation", ["geo_mean", "soc", "log"])
@pytest.mark.parametrize("m", [1, 3, 5])
def test_equal_weights_share_the_budget_equally(formulation, m):
    program = _budget([2.0] * m, budget=3.0)
    sol = solve_nash(program, formulation=formulation)
    assert sol.status == "optimal" and sol.ok and sol.formulation == formulation
    tol = TOL[formulation]
    np.testing.assert_allclose(sol.x, 3.0 / m, rtol=tol)
    # d(optimum)/d(budget) = Σ w / budget; the bounds x ≥ 0 do not bind
    assert sol.row_duals[0] == pytest.approx(2.0 * m / 3.0, rel=tol)
    np.testing.assert_allclose(sol.col_duals, 0, atol=tol)
    _kkt(program, sol, TOL[formulation])


def test_unequal_weights_get_shares_proportional_to_them():
    w = np.array([1.0, 2.0, 5.0])
    program = _budget(w)
    sol = solve_nash(program)
    assert sol.formulation == "log"
    np.testing.assert_allclose(sol.x, w / w.sum(), atol=1e-5)
    assert sol.row_duals[0] == pytest.approx(w.sum(), rel=1e-4)
    _kkt(program, sol, TOL["log"])
    with pytest.raises(ValueError, match="equal weights"):
        solve_nash(program, formulation="soc")


@pytest.mark.parametrize("formulation", ["geo_mean", "soc", "log"])
def test_a_binding_lower_bound_has_a_negative_dual(formulation):
    """``max log x_0 + log x_1``, ``x_0 + x_1 ≤ 1``, ``x_0 ≥ 0.7``: ``x = (0.7, 0.3)``; the
    budget's dual is ``1/x_1``, the lower bound's ``1/x_0 − 1/x_1 < 0``."""
    program = _program(
        np.eye(2), np.zeros(2), np.ones((1, 2)), [-INF], [1.0], [0.7, 0.0], [INF, INF]
    )
    sol = solve_nash(program, formulation=formulation)
    tol = TOL[formulation]
    np.testing.assert_allclose(sol.x, [0.7, 0.3], atol=tol)
    assert sol.row_duals[0] == pytest.approx(1 / 0.3, rel=tol)
    assert sol.col_duals == pytest.approx([1 / 0.7 - 1 / 0.3, 0.0], abs=tol * 10)
    _kkt(program, sol, TOL[formulation])


def test_an_equation_has_the_derivative_of_the_optimum_as_dual():
    program = _program(
        np.eye(2), np.zeros(2), np.ones((1, 2)), [2.0], [2.0], [-INF, -INF], [INF, INF]
    )
    sol = solve_nash(program)
    np.testing.assert_allclose(sol.x, [1.0, 1.0], atol=TOL["geo_mean"])
    assert sol.row_duals[0] == pytest.approx(1.0, rel=TOL["geo_mean"])  # d(2 log(b/2))/db, b = 2


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("formulation", ["geo_mean", "soc", "log"])
def test_random_programs_meet_the_kkt_conditions_and_beat_a_local_solver(seed, formulation):
    rng = np.random.default_rng(seed)
    m, n, r = 5, 4, 3
    F = rng.uniform(0, 2, (m, n)) * (rng.random((m, n)) < 0.7)
    g = rng.uniform(0.1, 1, m)
    A = rng.uniform(0.2, 2, (r, n))
    upper = rng.uniform(2, 5, r)
    lower = np.full(r, -INF)
    lower[0] = 0.5  # a lower bound that may bind
    col_upper = np.where(rng.random(n) < 0.5, rng.uniform(0.2, 1, n), INF)
    program = _program(F, g, A, lower, upper, np.zeros(n), col_upper)
    sol = solve_nash(program, formulation=formulation)
    assert sol.ok
    _kkt(program, sol, TOL[formulation])
    # an independent local solver (SLSQP) from a feasible start finds nothing better
    cons = [
        {"type": "ineq", "fun": lambda x: upper - A @ x},
        {"type": "ineq", "fun": lambda x: A[0] @ x - lower[0]},
    ]
    bounds = [(0, None if np.isinf(c) else c) for c in col_upper]
    start = np.full(n, 0.5 / A[0].sum() + 1e-3)
    local = minimize(
        lambda x: -program.objective(x),
        start,
        bounds=bounds,
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    assert sol.objective >= -local.fun - 1e-8


def test_geo_mean_and_soc_agree_on_a_padded_tree():
    """``soc`` pads 5 terms to 8 with ones: the duals must be scaled by 8, not 5."""
    program = _budget([1.0] * 5)
    a, b = (solve_nash(program, formulation=f) for f in ("geo_mean", "soc"))
    np.testing.assert_allclose(a.x, 0.2, rtol=TOL["soc"])
    np.testing.assert_allclose(b.x, 0.2, rtol=TOL["soc"])
    np.testing.assert_allclose([a.row_duals[0], b.row_duals[0]], 5.0, rtol=TOL["soc"])


def test_auto_picks_geo_mean_for_few_terms_and_soc_for_many():
    assert solve_nash(_budget([1.0] * 4)).formulation == "geo_mean"
    assert solve_nash(_budget([1.0] * 65)).formulation == "soc"


def test_infeasible_and_limited_solves_report_a_status():
    program = _program(np.eye(1), np.zeros(1), np.ones((1, 1)), [2.0], [INF], [0.0], [1.0])
    sol = solve_nash(program)
    assert sol.status == "infeasible" and not sol.ok and sol.x is None
    sol = solve_nash(_budget([1.0, 1.0, 1.0]), max_iter=1)
    assert sol.status == "limit" and not sol.ok


def test_a_solver_failure_is_a_solver_error(monkeypatch):
    def fail(self, *args, **kwargs):
        raise cp.error.SolverError("numerical trouble")

    monkeypatch.setattr(cp.Problem, "solve", fail)
    with pytest.raises(SolverError, match="Clarabel failed: numerical trouble"):
        solve_nash(_budget([1.0, 1.0]))


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="unknown formulation"):
        solve_nash(_budget([1.0]), formulation="simplex")
    program = _budget([1.0, 1.0])
    program.g = np.zeros(3)
    with pytest.raises(ValueError, match="g has shape"):
        solve_nash(program)
    with pytest.raises(ValueError, match="positive"):
        solve_nash(_budget([1.0, 0.0]))
