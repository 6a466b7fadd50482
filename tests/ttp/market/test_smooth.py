"""The smoothed dual L_τ: its bounds around L, its gradient, and the solver built on it."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ttp.market.test_solver import models
from treemarket.testing import assignment_violations, zoo
from treemarket.ttp import solve_exact
from treemarket.ttp.market import DualOracle, MarketOptions, solve_market
from treemarket.ttp.market.oracle import supply_value

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def smoothed(model, price, tau):
    """(L_τ, L, ∇L_τ) at ``price``, in float64."""
    soft, hard, demand = DualOracle(model).smoothed_value(price, tau)
    supply = supply_value(model.tree.prob, model.node_supply, price)
    return soft + supply, hard + supply, model.tree.prob * (model.node_supply - demand)


@SETTINGS
@given(models(), st.integers(0, 2**16), st.sampled_from([1e-3, 0.1, 1.0]))
def test_smoothed_dual_lies_between_l_and_l_plus_tau_log2_per_choice(model, seed, tau):
    price = np.random.default_rng(seed).uniform(0, 6, model.tree.n_nodes)
    soft, hard, _ = smoothed(model, price, tau)
    exact_hard = DualOracle(model).buyers_value(price)[0]
    exact_hard += supply_value(model.tree.prob, model.node_supply, price)
    scale = max(1.0, abs(hard))
    assert hard == pytest.approx(exact_hard, rel=1e-12, abs=1e-12)
    choices = model.counts.sum() * (model.tree.horizon + 1)
    assert hard - 1e-12 * scale <= soft <= hard + tau * np.log(2) * choices + 1e-12 * scale


@SETTINGS
@given(models(), st.integers(0, 2**16))
def test_smoothed_gradient_matches_finite_differences(model, seed):
    rng = np.random.default_rng(seed)
    price = rng.uniform(0, 6, model.tree.n_nodes)
    tau = 0.5
    value, _, gradient = smoothed(model, price, tau)
    direction = rng.normal(size=model.tree.n_nodes)
    h = 1e-6
    plus = smoothed(model, price + h * direction, tau)[0]
    minus = smoothed(model, price - h * direction, tau)[0]
    assert (plus - minus) / (2 * h) == pytest.approx(gradient @ direction, rel=1e-5, abs=1e-7)
    assert np.isfinite(value)


@SETTINGS
@given(models())
def test_both_dual_methods_bracket_the_exact_optimum(model):
    exact = solve_exact(model, price_ranges=False)
    scale = max(1.0, abs(exact.welfare))
    for dual in ("smooth", "subgradient"):
        market = solve_market(model, MarketOptions(max_iterations=300, dual=dual))
        assert assignment_violations(model, market.y) == []
        assert market.welfare <= exact.welfare + 1e-9 * scale
        assert market.upper_bound >= exact.lp_bound - 1e-9 * scale


def test_unknown_dual_method_is_an_error():
    with pytest.raises(ValueError, match="unknown dual method"):
        solve_market(zoo.make("random_walk", 100), MarketOptions(dual="newton"))


@pytest.mark.parametrize("family", sorted(zoo.FAMILIES))
def test_every_family_reaches_the_default_target_small(family):
    """At 2,000 pairs the default solver certifies 0.1% on every family of the zoo."""
    model = zoo.make(family, 2_000, seed=1)
    market = solve_market(model)
    assert market.gap <= market.target_gap
