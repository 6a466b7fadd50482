"""One conformance suite for every LP/MIP backend: feasibility, duals, complementarity."""

import numpy as np
import pytest
import scipy.sparse as sp

from treemarket.solvers import LinearProgram, Start, get_solver

BACKENDS = ["highs", "scipy"]


def _random_lp(seed):
    rng = np.random.default_rng(seed)
    m, n = 6, 9
    A = sp.csc_array(rng.integers(0, 3, size=(m, n)).astype(float))
    return LinearProgram(
        c=rng.uniform(0.1, 5, n),
        A=A,
        row_lower=np.full(m, -np.inf),
        row_upper=rng.uniform(1, 4, m),
        col_lower=np.zeros(n),
        col_upper=np.full(n, 2.0),
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(5))
def test_lp_primal_dual_certificate(backend, seed):
    lp = _random_lp(seed)
    sol = get_solver(backend).solve(lp)
    assert sol.status == "optimal"
    x, y = sol.x, sol.row_duals
    Ax = lp.A @ x
    assert np.all(Ax <= lp.row_upper + 1e-9) and np.all(x >= -1e-9) and np.all(x <= 2 + 1e-9)
    assert np.all(y >= -1e-9)  # max problem, ≤ rows: nonnegative duals
    assert np.allclose(y * (lp.row_upper - Ax), 0, atol=1e-8)  # complementarity
    # reduced costs c - A^T y: positive only at the upper bound, negative only at zero
    d = lp.c - lp.A.T @ y
    assert np.all((d <= 1e-8) | (x >= 2 - 1e-8))
    assert np.all((d >= -1e-8) | (x <= 1e-8))
    assert sol.objective == pytest.approx(lp.c @ x, rel=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mip_is_integral_and_no_better_than_lp(backend):
    lp = _random_lp(7)
    relaxed = get_solver(backend).solve(lp)
    lp.integrality = np.ones(lp.n_cols, dtype=bool)
    sol = get_solver(backend).solve(lp)
    assert sol.status == "optimal"
    assert np.allclose(sol.x, np.round(sol.x))
    assert sol.objective <= relaxed.objective + 1e-9
    assert sol.bound >= sol.objective - 1e-9


@pytest.mark.parametrize("backend", BACKENDS)
def test_infeasible_is_reported(backend):
    lp = LinearProgram(
        c=np.ones(1),
        A=sp.csc_array(np.ones((1, 1))),
        row_lower=np.array([3.0]),
        row_upper=np.array([np.inf]),
        col_lower=np.zeros(1),
        col_upper=np.ones(1),
    )
    assert get_solver(backend).solve(lp).status == "infeasible"


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_on_ttp(backend):
    from treemarket.testing import random_model
    from treemarket.ttp import solve_exact

    model = random_model(np.random.default_rng(2), horizon=2, buyers=3, supply=1)
    assert solve_exact(model, solver=backend, price_ranges=False).welfare == pytest.approx(
        solve_exact(model, price_ranges=False).welfare, rel=1e-9
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(5))
def test_a_start_changes_the_time_never_the_optimum(backend, seed):
    """From a poor point (x = 0, large duals), from the optimum itself, and (MIP) from an
    incumbent: the same optimal value and a vertex-certified answer every time."""
    lp = _random_lp(seed)
    cold = get_solver(backend).solve(lp)
    zero = Start(np.zeros(lp.n_cols), np.full(lp.n_rows, float(lp.c.max())))  # a poor start
    for start in (zero, Start(cold.x, cold.row_duals)):
        warm = get_solver(backend).solve(lp, start=start)
        assert warm.status == "optimal"
        assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
        d = lp.c - lp.A.T @ warm.row_duals  # still a vertex certificate: complementarity
        assert np.all((d <= 1e-8) | (warm.x >= 2 - 1e-8))
        assert np.all((d >= -1e-8) | (warm.x <= 1e-8))
    lp.integrality = np.ones(lp.n_cols, dtype=bool)
    mip_cold = get_solver(backend).solve(lp)
    mip_warm = get_solver(backend).solve(lp, start=Start(np.zeros(lp.n_cols)))
    assert mip_warm.status == "optimal"
    assert mip_warm.objective == pytest.approx(mip_cold.objective, rel=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(6))
def test_a_vertex_s_proven_extremes_are_each_column_s_min_and_max(backend, seed):
    """``vertex_extremes``: every column it marks is at its min (max) over the feasible set,
    as one LP per column finds; a backend that cannot tell says None."""
    lp = _random_lp(seed)
    session = get_solver(backend).session(lp)
    assert session.solve_with_objective(lp.c, maximize=True).status == "optimal"
    proven = session.vertex_extremes()
    if proven is None:
        assert backend != "highs"
        return
    x, minimizes, maximizes = proven
    assert np.all(lp.A @ x <= lp.row_upper + 1e-9)
    # a vertex has a column at a bound for every column beyond the rows: those are marked
    assert (minimizes | maximizes).sum() >= lp.n_cols - lp.n_rows
    for j in range(lp.n_cols):
        unit = np.zeros(lp.n_cols)
        unit[j] = 1.0
        low = get_solver(backend).solve(
            LinearProgram(
                unit, lp.A, lp.row_lower, lp.row_upper, lp.col_lower, lp.col_upper, None, False
            )
        )
        high = get_solver(backend).solve(
            LinearProgram(
                unit, lp.A, lp.row_lower, lp.row_upper, lp.col_lower, lp.col_upper, None, True
            )
        )
        if minimizes[j]:
            assert x[j] == pytest.approx(low.objective, abs=1e-9)
        if maximizes[j]:
            assert x[j] == pytest.approx(high.objective, abs=1e-9)
