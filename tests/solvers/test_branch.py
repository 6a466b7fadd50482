"""Branch and bound from an LP session against the backend's own MIP."""

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treemarket.solvers import LinearProgram, SolveOptions, get_solver
from treemarket.solvers.branch import branch_and_bound


@st.composite
def packing_programs(draw):
    """max c·x s.t. A x ≤ b, 0 ≤ x ≤ u integer: random set packing with small capacities."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, m = draw(st.integers(2, 12)), draw(st.integers(1, 8))
    A = (rng.random((m, n)) < 0.4).astype(float) * rng.integers(1, 3, size=(m, n))
    return LinearProgram(
        c=rng.integers(1, 9, size=n).astype(float) + rng.random(n) * draw(st.sampled_from([0, 1])),
        A=sp.csc_array(A),
        row_lower=np.full(m, -np.inf),
        row_upper=rng.integers(1, 4, size=m).astype(float),
        col_lower=np.zeros(n),
        col_upper=rng.integers(1, 3, size=n).astype(float),
        integrality=np.ones(n, dtype=bool),
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packing_programs())
def test_branch_and_bound_proves_the_mip_optimum(lp):
    backend = get_solver("highs")
    reference = backend.solve(lp, SolveOptions())
    session = backend.session(lp)
    root = session.solve_from()
    found = branch_and_bound(lp, session, root)
    scale = max(1.0, abs(reference.objective))
    assert found.status == "optimal"
    assert abs(found.objective - reference.objective) <= 1e-9 * scale
    assert found.bound >= reference.objective - 1e-9 * scale
    assert found.bound - found.objective <= 1e-9 * scale
    x = found.x
    assert np.allclose(x, np.round(x)) and np.all(lp.A @ x <= lp.row_upper + 1e-9)
    assert np.all((x >= lp.col_lower - 1e-9) & (x <= lp.col_upper + 1e-9))


def test_a_node_limit_leaves_a_proven_gap():
    rng = np.random.default_rng(3)
    n = 30
    A = (rng.random((20, n)) < 0.3).astype(float)
    lp = LinearProgram(
        rng.random(n) + 1,
        sp.csc_array(A),
        np.full(20, -np.inf),
        np.ones(20),
        np.zeros(n),
        np.ones(n),
        np.ones(n, dtype=bool),
    )
    reference = get_solver("highs").solve(lp, SolveOptions()).objective
    session = get_solver("highs").session(lp)
    found = branch_and_bound(lp, session, session.solve_from(), node_limit=2)
    assert found.status == "stalled"
    assert (
        found.bound >= reference - 1e-9 >= (found.objective if found.x is not None else -1) - 2e-9
    )
