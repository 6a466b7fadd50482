"""The neighbourhood search of the exact solver: a MIP over the columns where the LP optimum and
the incumbent disagree, the others fixed; its points are feasible and better, never claimed
optimal on their own."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import treemarket.ttp.exact as exact
from tests.ttp.strategies import random_models
from treemarket.solvers import SolveOptions, get_solver
from treemarket.testing import assignment_violations, brute_force_welfare
from treemarket.ttp import solve_exact
from treemarket.ttp.formulation import build
from treemarket.ttp.model import expected_welfare

from .test_welfare_grid import _dyadic_fractional


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_models(horizon=2, buyers=3))
def test_the_neighbourhood_of_nothing_is_feasible_better_and_keeps_the_fixed_columns(model):
    form = build(model, "path", integer=False)
    lp = form.lp
    backend = get_solver("highs")
    x_lp = backend.solve(lp, SolveOptions()).x
    lp.integrality = np.ones(lp.n_cols, dtype=bool)
    nothing = np.zeros(lp.n_cols)  # buying nothing is feasible
    found = exact._neighbourhood(lp, backend, SolveOptions(), x_lp, nothing, np.inf)
    if found is None:  # nothing better near "nothing": the LP optimum buys nothing of value
        assert float(lp.c @ x_lp) <= 1e-9
        return
    y = form.assignment(found)
    assert np.allclose(y, np.round(y)) and assignment_violations(model, np.round(y)) == []
    assert float(lp.c @ found) > 0
    assert np.all(found[np.abs(x_lp) <= exact.INTEGRAL] == 0)  # fixed where both are 0
    assert expected_welfare(model, np.round(y)) <= brute_force_welfare(model) + 1e-9


def test_a_stalled_branch_and_bound_goes_through_the_neighbourhood_to_the_optimum(monkeypatch):
    model = _dyadic_fractional()
    monkeypatch.setattr(exact, "BRANCH_PATIENCE", 0)  # stall at once, with the empty incumbent
    monkeypatch.setattr(exact, "welfare_grid", lambda model: 0.0)  # no proof from the grid
    calls = []
    real = exact._neighbourhood

    def spy(*args):
        calls.append(real(*args))
        return calls[-1]

    monkeypatch.setattr(exact, "_neighbourhood", spy)
    sol = solve_exact(model, price_ranges=False)
    assert len(calls) == 1
    assert sol.welfare == pytest.approx(brute_force_welfare(model), abs=1e-12)
    assert sol.gap == 0 and sol.lp_integral.refuted
