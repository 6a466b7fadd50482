"""The grid of welfare values: every integral assignment's welfare is a multiple of δ, so a bound
on [P0] may be rounded down onto δℤ (the integrality of the objective)."""

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import treemarket.ttp.exact as exact
import treemarket.ttp.market as market
from treemarket.testing import brute_force_welfare, random_model, zoo
from treemarket.ttp import solve
from treemarket.ttp.model import TTPModel, expected_welfare, integer_bound, welfare_grid


def _exact_divides(model: TTPModel, grid: float) -> bool:
    """Every P(n)·v_i(n) of a pair that can buy is an integer multiple of ``grid`` (in exact
    rational arithmetic on the model's floats)."""
    step = Fraction(grid)
    values, prob = model.values, model.tree.prob
    for i, n in zip(*np.nonzero(model.can_buy), strict=True):
        if (Fraction(float(prob[n])) * Fraction(float(values[i, n])) / step).denominator != 1:
            return False
    return True


@pytest.mark.parametrize("family", ["ties", "random_walk", "skewed_probabilities", "windows"])
def test_the_grid_divides_every_coefficient_exactly(family):
    model = zoo.make(family, 300, 1)
    grid = welfare_grid(model)
    assert grid > 0 and _exact_divides(model, grid)


def test_integer_values_on_a_binary_tree_have_a_coarse_grid():
    model = zoo.make("ties", 2_000, 0)  # integer leaf values, probabilities 2^-depth
    grid = welfare_grid(model)
    assert grid >= model.tree.prob.min() / 2  # inner values are averages of two children
    assert not _exact_divides(model, 2 * grid)  # and it is the largest such power of two


def test_random_reals_have_a_grid_too_fine_to_matter():
    rng = np.random.default_rng(3)
    model = random_model(rng, horizon=4, buyers=5, branching=2, integer_values=False)
    grid = welfare_grid(model)
    assert 0 < grid < 1e-12 and _exact_divides(model, grid)
    assert integer_bound(12.345, grid) == 12.345


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(min_value=-60, max_value=10),
    odd=st.sampled_from([1, 3, 5, 7]),
    steps=st.integers(min_value=-(10**9), max_value=10**9),
    frac=st.floats(min_value=0.0, max_value=0.999),
)
def test_integer_bound_never_cuts_off_a_point_of_the_grid(k, odd, steps, frac):
    grid = odd * 2.0**k
    bound = (steps + frac) * grid  # a float near a true bound between steps·δ and (steps+1)·δ
    rounded = integer_bound(bound, grid)
    assert rounded <= bound
    point = steps * grid  # a multiple of δ at most the true bound: it stays in
    assert rounded >= point - 1e-15 * abs(point)
    on_grid = Fraction(rounded) / Fraction(grid) == round(Fraction(rounded) / Fraction(grid))
    assert on_grid or rounded == bound  # within the allowance for rounding: the bound itself


def test_integer_bound_allows_for_the_rounding_of_the_bound():
    grid = 2.0**-10
    exact_point = 62374 * grid
    assert integer_bound(exact_point * (1 - 1e-14), grid) >= exact_point * (1 - 1e-14)


def _dyadic_fractional() -> TTPModel:
    """[P1] = 19.375 > [P0] = 19.25 (found by a search over integer values): probabilities
    1/4, 1/4, 1/2, so every welfare is a multiple of 1/4."""
    values = {"B": (4, 14, -1), "C": (6, -3, 15), "D": (-2, 7, 10)}
    scenarios = {
        f"s{j}": (p, {b: v[j] for b, v in values.items()}) for j, p in enumerate((0.25, 0.25, 0.5))
    }
    return TTPModel.from_scenarios(
        list(values),
        [1, 1, 1],
        scenarios,
        [[["s0", "s1", "s2"]], [["s0", "s1", "s2"]], [["s0"], ["s1"], ["s2"]]],
    )


def test_exact_proves_a_fractional_case_on_the_grid_and_says_so():
    model = _dyadic_fractional()
    sol = solve(model, "exact")
    assert sol.welfare == brute_force_welfare(model) == 19.25
    assert sol.lp_bound == pytest.approx(19.375)
    assert sol.upper_bound == sol.welfare and sol.gap == 0
    assert sol.lp_integral.refuted and sol.supported.refuted
    assert any("multiple of 0.25" in note and "19.375 to 19.25" in note for note in sol.notes)


def test_without_the_grid_the_same_optimum_is_proven(monkeypatch):
    model = zoo.make("ties", 40_000, 0)  # fractional LP, warm started (over 10^4 columns)
    with_grid = solve(model, "exact", price_ranges=False)
    monkeypatch.setattr(exact, "welfare_grid", lambda model: 0.0)
    without = solve(model, "exact", price_ranges=False)
    assert with_grid.lp_integral.refuted and without.lp_integral.refuted
    assert with_grid.welfare == without.welfare
    assert with_grid.gap == without.gap == 0
    assert not any("multiple of" in note for note in without.notes)


def test_a_warm_start_on_the_grid_bound_skips_the_branch_and_bound(monkeypatch):
    """When the market solver's assignment already reaches the LP bound rounded onto the grid,
    it is returned as the proven optimum without branching."""
    model = zoo.make("ties", 40_000, 0)
    optimum = solve(model, "exact", price_ranges=False)
    merged = exact.merge_identical_buyers(model).model  # what the warm start sees
    y_best = exact.solve_exact(merged, price_ranges=False).y
    real = market.solve_market

    def market_at_the_optimum(model_, options, progress=None):
        answer = real(model_, options, progress)
        return replace(answer, y=y_best)

    monkeypatch.setattr(market, "solve_market", market_at_the_optimum)
    sol = solve(model, "exact", price_ranges=False)
    assert sol.stats["branch"].startswith("skipped: the LP bound, on the welfare grid")
    assert sol.welfare == optimum.welfare and sol.gap == 0
    assert expected_welfare(model, sol.y) == optimum.welfare
