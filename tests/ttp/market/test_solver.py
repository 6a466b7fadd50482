"""The market (Lagrangian) solver: certified bounds against the exact optimum."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ttp.strategies import maybe, random_models
from treemarket.testing import assignment_violations, random_model
from treemarket.ttp import solve, solve_exact
from treemarket.ttp.market import MarketOptions, dual_value, solve_market

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def models(carry_over=False):
    return random_models(
        horizon=4,
        buyers=8,
        branching=(1, 3),
        supply=(0, 3),
        counts=maybe((1, 4)),
        integer_values=st.booleans(),
        windows=st.booleans(),
        carry_over=carry_over,
    )


@SETTINGS
@given(models())
def test_bounds_bracket_the_exact_optimum_and_the_assignment_is_feasible(model):
    exact = solve_exact(model, price_ranges=False)
    market = solve_market(model, MarketOptions(max_iterations=300))
    scale = max(1.0, abs(exact.welfare))
    assert assignment_violations(model, market.y) == []
    assert market.welfare <= exact.welfare + 1e-9 * scale
    assert market.upper_bound >= exact.lp_bound - 1e-9 * scale  # a dual bound on [P1]
    # the exact optimum lies within the reported gap
    assert (market.upper_bound - exact.welfare) / max(abs(market.upper_bound), 1e-12) <= (
        market.gap + 1e-9
    )


def test_dual_value_is_an_upper_bound_at_any_prices():
    model = random_model(np.random.default_rng(3), horizon=3, buyers=5, branching=2, supply=1)
    optimum = solve_exact(model, price_ranges=False).lp_bound
    rng = np.random.default_rng(0)
    for _ in range(20):
        price = rng.uniform(0, 10, model.tree.n_nodes)
        assert dual_value(model, price)[0] >= optimum - 1e-9


def test_medium_instance_reaches_the_target_gap():
    model = random_model(
        np.random.default_rng(0),
        horizon=6,
        buyers=20,
        branching=2,
        supply=(1, 3),
        step=2.0,
        integer_values=False,
    )
    market = solve(model, method="market", target_gap=5e-3)
    exact = solve(model, method="exact", price_ranges=False)
    assert market.gap <= 5e-3
    assert market.welfare == pytest.approx(exact.welfare, rel=5e-3)


def test_types_with_counts_equal_the_expanded_model():
    """A type with count n gives the same welfare as n separate identical buyers."""
    rng = np.random.default_rng(8)
    typed = random_model(rng, horizon=2, buyers=3, branching=2, supply=(1, 3), counts=(2, 3))
    names = [f"{b}{k}" for b, c in zip(typed.buyers, typed.counts, strict=True) for k in range(c)]
    values = np.repeat(typed.scenario_values, typed.counts, axis=0)
    expanded = type(typed).from_arrays(typed.tree, names, typed.supply, values)
    assert solve_exact(typed).welfare == pytest.approx(solve_exact(expanded).welfare, rel=1e-12)


def test_types_with_large_counts_converge():
    """Demand jumps by whole counts; the deflected price update still reaches 0.1% quickly (it
    needed over 2,000 iterations without the deflection)."""
    rng = np.random.default_rng(1)
    base = random_model(
        rng, horizon=6, buyers=20, branching=2, supply=(50, 150), step=2.0, integer_values=False
    )
    typed = type(base).from_arrays(
        base.tree, base.buyers, base.supply, base.scenario_values, counts=np.full(20, 50)
    )
    market = solve_market(typed, MarketOptions(target_gap=1e-3, max_iterations=1000))
    exact = solve_exact(typed, price_ranges=False)
    assert market.gap <= 1e-3
    assert market.stats["iterations"] < 1000
    assert market.upper_bound >= exact.lp_bound - 1e-9 * exact.lp_bound
    assert assignment_violations(typed, market.y) == []


def test_the_theme_park_example_reaches_the_target_gap():
    """Types with counts and 40-80 permits per node (a deflected step once stalled here)."""
    from importlib.resources import files

    from treemarket.io.ttp_file import load_ttp

    model = load_ttp(files("treemarket.examples") / "theme-park.yaml")
    market = solve_market(model, MarketOptions(target_gap=1e-3, max_iterations=1000))
    exact = solve_exact(model, price_ranges=False)
    assert market.gap <= 1e-3
    assert market.upper_bound >= exact.lp_bound - 1e-9 * exact.lp_bound
    assert market.welfare <= exact.welfare + 1e-9 * exact.welfare


@SETTINGS
@given(models(carry_over=True))
def test_carry_over_bounds_bracket_the_exact_optimum_and_the_assignment_is_feasible(model):
    """With carry-over the prices are supermartingales p = λ + E[p(children)], λ ≥ 0."""
    exact = solve_exact(model, price_ranges=False)
    market = solve_market(model, MarketOptions(max_iterations=400))
    scale = max(1.0, abs(exact.welfare))
    assert assignment_violations(model, market.y) == []
    assert market.welfare <= exact.welfare + 1e-9 * scale
    assert market.upper_bound >= exact.lp_bound - 1e-9 * scale
    price = market.prices.price
    inner = int(model.tree.level_offsets[-2])
    assert np.all(price[:inner] >= model.tree.expectation_of_children(price) - 1e-9 * scale)
