"""Warm starts of the exact solver from the market solver: same optimum, found faster."""

import numpy as np
import pytest

from treemarket.solvers import SolveOptions, Start, get_solver
from treemarket.testing import assignment_violations, random_model
from treemarket.ttp import solve_exact
from treemarket.ttp.exact import _optimal_assignment, expected_welfare
from treemarket.ttp.formulation import build
from treemarket.ttp.market import MarketOptions, solve_market


def _model(seed: int):
    rng = np.random.default_rng(seed)
    return random_model(
        rng,
        horizon=int(rng.integers(2, 6)),
        buyers=int(rng.integers(3, 14)),
        branching=(1, 3),
        supply=(0, 3),
        counts=(1, 2) if seed % 3 == 0 else None,
        dirichlet=0.3 if seed % 4 == 1 else None,
        windows=seed % 5 == 2,
        integer_values=seed % 2 == 0,
    )


@pytest.mark.parametrize("seed", range(16))
def test_warm_and_cold_reach_the_same_optimum(seed):
    model = _model(seed)
    cold = solve_exact(model, price_ranges=False, warm_start=False)
    warm = solve_exact(model, price_ranges=False, warm_start=True)
    assert warm.stats["warm_start"] and not cold.stats["warm_start"]
    scale = max(1.0, abs(cold.welfare))
    assert warm.welfare == pytest.approx(cold.welfare, rel=1e-9, abs=1e-9 * scale)
    assert warm.lp_bound == pytest.approx(cold.lp_bound, rel=1e-9, abs=1e-9 * scale)
    assert warm.upper_bound == pytest.approx(cold.upper_bound, rel=1e-9, abs=1e-9 * scale)
    assert assignment_violations(model, warm.y) == []
    assert assignment_violations(model, cold.y) == []


@pytest.mark.parametrize("seed", range(12))
def test_the_warm_lp_is_an_optimal_vertex(seed):
    """The LP started from the market solver ends at an optimal basic solution: its objective
    is the cold one, and the integrality test on it still decides whether the MIP runs."""
    model = _model(seed)
    backend = get_solver("highs")
    cold = _optimal_assignment(model, "path", backend, SolveOptions(), {}, False)
    timings: dict[str, float] = {}
    warm = _optimal_assignment(model, "path", backend, SolveOptions(), timings, True)
    assert "market" in timings
    assert warm.lp_bound == pytest.approx(cold.lp_bound, rel=1e-9, abs=1e-9)
    if not warm.fractional:  # an integral vertex: the integer optimum itself
        assert expected_welfare(model, warm.y) == pytest.approx(cold.lp_bound, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_market_duals_are_feasible_and_bounded_by_the_lagrangian(seed):
    model = _model(seed)
    form = build(model, "path", integer=False)
    market = solve_market(model, MarketOptions(target_gap=1e-2))
    start, feasible = form.start(market.y, market.prices.price)
    lp = form.lp
    assert feasible
    assert np.all(start.row_duals >= -1e-12)
    reduced = lp.c - lp.A.T @ start.row_duals
    dual_objective = start.row_duals @ lp.row_upper + np.maximum(reduced, 0) @ lp.col_upper
    optimum = get_solver("highs").solve(lp).objective
    assert optimum <= dual_objective + 1e-9
    assert dual_objective <= market.upper_bound / form.scale + 1e-9


def test_a_fractional_lp_s_mip_with_the_incumbent_proves_the_same_optimum():
    from treemarket.examples import example_path
    from treemarket.io.ttp_file import load_ttp

    model = load_ttp(example_path("fractional.yaml"))
    sol = solve_exact(model, warm_start=True)
    assert sol.stats["warm_start"]
    assert sol.welfare == pytest.approx(11.0)
    assert sol.upper_bound == sol.welfare and sol.gap == 0.0
    assert sol.lp_bound == pytest.approx(11 + 1 / 6, rel=1e-9)
    assert sol.lp_integral.refuted and sol.supported.refuted


@pytest.mark.parametrize("seed", range(6))
def test_a_mip_from_the_market_s_incumbent_proves_the_same_optimum(seed):
    model = _model(seed)
    form = build(model, "path", integer=True)
    market = solve_market(model, MarketOptions(target_gap=1e-2))
    x = market.y[form.col_buyer, form.col_node]
    backend = get_solver("highs")
    cold = backend.solve(form.lp)
    warm = backend.solve(form.lp, start=Start(x))
    assert cold.ok and warm.ok
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9, abs=1e-12)
    assert warm.objective >= form.lp.c @ x - 1e-12


def test_automatic_warm_start_is_off_for_small_models_and_checked_when_forced():
    model = _model(0)
    assert not solve_exact(model, price_ranges=False).stats["warm_start"]
    with pytest.raises(ValueError, match="path formulation"):
        solve_exact(model, formulation="z", warm_start=True)
    # the scipy backend ignores starts
    sol = solve_exact(model, price_ranges=False, solver="scipy", warm_start=True)
    assert sol.welfare == pytest.approx(solve_exact(model, price_ranges=False).welfare)


@pytest.mark.parametrize("seed", range(2))
def test_medium_models_warm_and_cold_agree(seed):
    """A few thousand columns: crossover and the simplex clean-up both have work to do."""
    rng = np.random.default_rng(100 + seed)
    model = random_model(
        rng, horizon=6, buyers=20, branching=2, supply=(1, 3), step=2.0, integer_values=False
    )
    cold = solve_exact(model, price_ranges=False, warm_start=False)
    warm = solve_exact(model, price_ranges=False, warm_start=True)
    assert warm.welfare == pytest.approx(cold.welfare, rel=1e-9)
    assert warm.lp_bound == pytest.approx(cold.lp_bound, rel=1e-9)
    assert assignment_violations(model, warm.y) == []
