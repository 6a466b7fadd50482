"""Best responses against brute force over stopping rules, and the equilibrium check."""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ttp.strategies import random_models
from treemarket.ttp import solve_exact
from treemarket.ttp.equilibrium import best_response, check_equilibrium
from treemarket.ttp.examples import weather

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _stopping_payoffs(model, buyer, price):
    """Every stopping rule of one buyer, by brute force: a rule is the set of nodes at which she
    buys if still in the market; returns the best expected payoff over all rules."""
    tree = model.tree
    n = tree.n_nodes
    v = model.values[buyer]
    open_market = model.node_supply > 0
    best = 0.0
    anc = tree.ancestors
    for mask in itertools.product([False, True], repeat=n):
        buy = np.array(mask) & open_market
        total = 0.0
        for leaf_row in range(anc.shape[0]):
            path = anc[leaf_row]
            first = next((m for m in path if buy[m]), None)
            if first is not None:
                total += tree.prob[tree.leaves[leaf_row]] * (v[first] - price[first])
        best = max(best, total)
    return best


def tiny():
    return random_models(horizon=2, buyers=st.just(2), branching=(1, 2), supply=(0, 1))


@SETTINGS
@given(tiny(), st.integers(0, 2**32 - 1))
def test_best_response_equals_brute_force_over_stopping_rules(model, seed):
    assert model.tree.n_nodes <= 12
    price = np.random.default_rng(seed).uniform(0, 6, model.tree.n_nodes).round(1)
    br = best_response(model, price)
    optimal = br.expected_payoff(model)
    for i in range(model.n_buyers):
        assert optimal[i] == pytest.approx(_stopping_payoffs(model, i, price), abs=1e-9)
        # the rule it returns achieves that payoff
        achieved = ((model.values[i] - price) * br.y[i]) @ model.tree.prob
        assert achieved == pytest.approx(optimal[i], abs=1e-9)


def test_the_check_finds_a_price_that_does_not_clear():
    model = weather()
    sol = solve_exact(model, price_ranges=False)
    price = sol.prices.price.copy()
    assert check_equilibrium(model, sol.y, price).holds
    unsold = np.nonzero(model.node_supply - sol.y.sum(axis=0) > 0.5)[0]
    price[unsold[0]] = 1.0  # a positive price where a permit is left unsold
    report = check_equilibrium(model, sol.y, price)
    assert not report.holds
    assert (
        report.to_json()["failing_nodes"][0]["problem"] == "price does not clear the unsold supply"
    )
