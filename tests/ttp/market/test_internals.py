"""The market solver's lean parts against the plain dense computations they replace."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ttp.strategies import maybe, random_models
from treemarket.testing import assignment_violations, brute_force_welfare, random_model
from treemarket.ttp import solve_exact
from treemarket.ttp.equilibrium import best_response, demand_per_node, first_purchases
from treemarket.ttp.market import (
    DualOracle,
    MarketOptions,
    SerialTransport,
    dual_value,
    lagrangian_bound,
    model_blocks,
    solve_market,
)
from treemarket.ttp.market.coordinator import initial_prices, run_markets


def models():
    return random_models(
        horizon=4,
        buyers=9,
        branching=(1, 3),
        supply=(0, 3),
        counts=maybe((0, 4)),
        windows=st.booleans(),
        integer_values=st.booleans(),
    )


def dense_markets(model, price, slack, option):
    """Reference: every demanding (buyer, node) pair of a level sorted at once."""
    tree = model.tree
    values, can_buy = model.values, model.can_buy
    gain = values - price[None, :] - option
    y = np.zeros(values.shape)
    remaining = np.zeros(values.shape)
    remaining[:, tree.level(0)] = model.counts[:, None]
    for t in range(tree.horizon + 1):
        level = np.arange(tree.n_nodes)[tree.level(t)]
        if t > 0:
            remaining[:, level] = remaining[:, tree.parent[level]] - y[:, tree.parent[level]]
        for n in level:
            wants = (values[:, n] > 0) & can_buy[:, n] & (remaining[:, n] > 0)
            if t < tree.horizon:
                wants &= gain[:, n] >= -slack
            score = values[:, n] if t == tree.horizon else gain[:, n]
            left = model.node_supply[n]
            for i in sorted(np.nonzero(wants)[0], key=lambda i: (-score[i], -values[i, n], i)):
                take = min(left, remaining[i, n])
                y[i, n], left = take, left - take
    return y


def one_block_markets(model, price, slack):
    """The sequential markets of the market solver, its whole model in one block."""
    transport = SerialTransport(model_blocks(model))
    transport.call("prepare", False, 1)
    transport.call("evaluate", price, True)
    run_markets(transport, price, slack, model.tree, model.node_supply)
    return transport.blocks[0].current.dense(model)


def full_sort_prices(model):
    """Reference: the (μ + 1)-th highest unit value per node from a full sort."""
    values = np.where(model.can_buy, np.maximum(model.values, 0.0), 0.0)
    out = np.zeros(model.tree.n_nodes)
    for n in range(model.tree.n_nodes):
        units = np.repeat(values[:, n], model.counts)
        units = np.sort(units)[::-1]
        mu = model.node_supply[n]
        if mu > 0 and units.size > mu:
            out[n] = units[mu]
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.integers(0, 2**16), st.sampled_from([0.0, 0.5]))
def test_markets_serve_like_a_full_sort(model, seed, slack):
    price = np.random.default_rng(seed).uniform(0, 6, model.tree.n_nodes)
    option = best_response(model, price).option
    found = one_block_markets(model, price, slack)
    assert np.array_equal(found, dense_markets(model, price, slack, option))
    assert assignment_violations(model, found) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_initial_prices_equal_a_full_sort(model):
    transport = SerialTransport(model_blocks(model, 2))
    assert np.array_equal(initial_prices(transport, model.node_supply), full_sort_prices(model))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.integers(0, 2**16))
def test_demand_is_the_sum_of_first_purchases(model, seed):
    price = np.random.default_rng(seed).uniform(0, 6, model.tree.n_nodes)
    br = best_response(model, price)
    buy = np.ascontiguousarray(br.buy.T)
    assert np.array_equal(demand_per_node(model, buy), br.y.sum(axis=0))
    assert np.array_equal(first_purchases(model, buy).T, br.y)


def test_float32_iterations_keep_a_float64_certificate():
    model = random_model(
        np.random.default_rng(5),
        horizon=5,
        buyers=12,
        branching=2,
        supply=(1, 2),
        step=2.0,
        integer_values=False,
    )
    exact = solve_exact(model, price_ranges=False)
    sol = solve_market(model, MarketOptions(float32=True, target_gap=1e-3))
    assert sol.stats["float32"]
    assert sol.upper_bound >= exact.lp_bound - 1e-9 * exact.lp_bound
    assert sol.welfare <= exact.welfare + 1e-9 * exact.welfare
    assert sol.upper_bound == dual_value(model, sol.prices.price)[0]
    # the float32 pass agrees with the float64 one to float32 accuracy
    price = sol.prices.price
    low = DualOracle(model, np.float32).buyers_value(price)[0]
    assert low == pytest.approx(DualOracle(model).buyers_value(price)[0], rel=1e-5)


def test_random_walk_values_are_the_sums_along_each_path():
    rng = np.random.default_rng(11)
    model = random_model(rng, horizon=4, buyers=3, branching=(1, 3), integer_values=False)
    rng = np.random.default_rng(11)
    tree = model.tree  # redraw the same numbers: the tree first, then the walk
    from treemarket.testing.generate import random_tree

    random_tree(rng, 4, (1, 3), None)
    shocks = rng.normal(0.0, 3.0, size=(3, tree.n_nodes))
    shocks[:, tree.level(0)] += rng.uniform(-2, 8, size=(3, 1))
    expected = shocks[:, tree.ancestors].sum(axis=2)
    assert np.allclose(model.scenario_values, expected, rtol=0, atol=1e-12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.integers(0, 2**16), st.integers(2, 4))
def test_blocks_of_buyers_in_threads_give_the_same_dual(model, seed, threads):
    price = np.random.default_rng(seed).uniform(0, 6, model.tree.n_nodes)
    one = DualOracle(model).buyers_value(price, keep_option=True)
    oracle = DualOracle(model, threads=threads)
    try:
        split = oracle.buyers_value(price, keep_option=True)
    finally:
        oracle.close()
    assert split[0] == pytest.approx(one[0], rel=1e-12, abs=1e-12)
    assert np.array_equal(split[1], one[1])
    assert np.array_equal(oracle.option, best_response(model, price).option.T)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    random_models(horizon=3, buyers=4, branching=(1, 3), supply=(0, 2), carry_over=st.booleans()),
    st.integers(0, 2**32 - 1),
)
def test_lagrangian_bound_is_above_the_optimum_for_any_prices(model, seed):
    """L(p̂) bounds [P0] from above whatever the prices (negative ones, prices rising in
    expectation under carry-over: they are made valid first), and the supporting prices of the
    optimum make it equal to the welfare."""
    rng = np.random.default_rng(seed)
    optimum = brute_force_welfare(model)
    scale = float(np.abs(model.values).max()) + 1.0
    rising = 2.0 * (model.tree.time == model.tree.horizon)  # free now, dear at the end
    for price in (rng.uniform(-1, 3, model.tree.n_nodes), rising, np.zeros(model.tree.n_nodes)):
        assert lagrangian_bound(model, price * scale) >= optimum - 1e-9 * scale
    sol = solve_exact(model, price_ranges=False)
    if sol.supported.proven:
        assert lagrangian_bound(model, sol.prices.price) == pytest.approx(optimum, abs=1e-9 * scale)
