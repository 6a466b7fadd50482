"""The restricted problem: feasible for [P0], at least the markets' welfare, never above the
optimum, and the step that closes the gap where the markets split indifferent buyers badly."""

import numpy as np
import pytest

from treemarket.testing import assignment_violations, brute_force_welfare, zoo
from treemarket.ttp.market import MarketOptions, solve_market
from treemarket.ttp.market.restricted import open_pairs, restricted_assignment
from treemarket.ttp.model import expected_welfare


@pytest.mark.parametrize("family", ["ties", "buyer_types", "carry_over", "windows"])
@pytest.mark.parametrize("seed", [0, 1])
def test_restricted_assignment_is_feasible_and_between_markets_and_optimum(family, seed):
    model = zoo.make(family, 80, seed)
    market = solve_market(model, MarketOptions(restrict=False, max_iterations=200))
    assert market.prices is not None
    width = 1e-3 * max(1.0, float(np.abs(market.prices.price).max()))
    found, pairs = restricted_assignment(model, market.prices.price, market.y, width, 60.0, 1e-9)
    assert found is not None and 0 < pairs <= model.values.size
    assert assignment_violations(model, found) == []
    optimum = brute_force_welfare(model)
    welfare = expected_welfare(model, found)
    scale = max(1.0, abs(optimum))
    assert market.welfare - 1e-9 * scale <= welfare <= optimum + 1e-9 * scale


def test_open_pairs_keep_every_best_response_purchase():
    from treemarket.ttp.equilibrium import best_response

    model = zoo.make("random_walk", 500, 3)
    price = solve_market(model, MarketOptions(restrict=False)).prices.price
    mask = open_pairs(model, price, width=1e-9)
    assert np.all(mask[best_response(model, price).y > 0])


def test_the_restricted_step_closes_the_gap_the_markets_leave():
    model = zoo.make("ties", 2_000, seed=1)
    without = solve_market(model, MarketOptions(restrict=False))
    with_step = solve_market(model)
    assert without.gap > without.target_gap  # the markets alone fall short here
    assert with_step.gap <= with_step.target_gap
    assert with_step.stats["restricted_pairs"] > 0
