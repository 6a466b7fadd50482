"""The pricing rules on random trees, against brute force, LPs, the conic solver and KKT."""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from treemarket.intermediation import (
    IntermediationTree,
    NashUndefinedError,
    egalitarian_ranges,
    egalitarian_value,
    equal_utility,
    example_tree,
    leximin_utilities,
    nash_cvxpy,
    price,
    profitability,
)

from .oracles import (
    leximin_bruteforce,
    prices_by_definition,
    utilities_by_definition,
    utility_range_lp,
)
from .strategies import trees

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(trees(max_nodes=9))
def test_leximin_equals_brute_force_over_active_sets(tree):
    u = leximin_utilities(tree)
    np.testing.assert_allclose(u, leximin_bruteforce(tree), atol=1e-9 * tree.scale)


@FAST
@given(trees(max_nodes=20), st.sampled_from(["leximin", "egalitarian", "nash"]))
def test_every_rule_gives_nonnegative_prices_and_utilities_summing_to_the_surplus(tree, rule):
    if rule == "nash" and tree.surplus < 0:
        with pytest.raises(NashUndefinedError, match="not profitable"):
            price(tree, rule)
        return
    pricing = price(tree, rule)
    assert pricing.prices.min() >= 0
    # utilities recomputed term by term from the prices (Definition 2), not taken on trust
    u = utilities_by_definition(tree, list(pricing.prices))
    np.testing.assert_allclose(u, pricing.utilities, atol=1e-9 * tree.scale)
    assert sum(u) == pytest.approx(tree.total_limit - tree.seller_limit, abs=1e-9 * tree.scale)
    assert pricing.certificate.ok


@FAST
@given(trees(max_nodes=20))
def test_prices_and_utilities_are_inverse_maps(tree):
    rng = np.random.default_rng(tree.n)
    p = np.r_[0.0, rng.random(tree.n - 1) * 10]
    u = tree.utilities(p)
    np.testing.assert_allclose(u, utilities_by_definition(tree, list(p)), atol=1e-9)
    np.testing.assert_allclose(tree.prices(u), p, atol=1e-9)
    np.testing.assert_allclose(tree.prices(u), prices_by_definition(tree, list(u)), atol=1e-9)


@FAST
@given(trees(max_nodes=20))
def test_auto_is_the_equal_utility_point_whenever_it_is_feasible(tree):
    eq = equal_utility(tree)
    u = leximin_utilities(tree)
    if eq.nonnegative:
        np.testing.assert_allclose(u, eq.h, atol=1e-9 * tree.unit)
        assert price(tree).method == "equal-utility"
    else:  # some price of (14) is negative: the water-filling moves away from h
        assert np.ptp(u) > 0
        assert u.min() < eq.h < u.max()


@FAST
@given(trees(max_nodes=20))
def test_unprofitable_trees_share_the_shortfall_equally(tree):
    """Σ b < s: all equal-utility prices are > 0, so every participant gets h < 0, the best
    possible minimum. A deficit within rounding of 0 (Σ b and s equal up to the last bit) is
    left out: its prices of (14) are rounding noise around B_j."""
    if tree.surplus >= -1e-12 * tree.scale:
        return
    eq = equal_utility(tree)
    assert eq.h < 0 and eq.nonnegative and eq.prices[1:].min() > 0
    assert not profitability(tree).profitable
    np.testing.assert_allclose(price(tree).utilities, eq.h, atol=1e-9 * tree.scale)


@settings(max_examples=30, deadline=None)
@given(trees(max_nodes=8))
@example(  # s = 1e-7: an LP at HiGHS's default tolerances left the seller u = −1e-7
    IntermediationTree.from_arrays([-1, 0, 1, 0, 0, 0, 0], [1e-7, np.nan, 1, 0, 0, 0, 0])
)
def test_egalitarian_value_and_ranges_match_lps(tree):
    m, low, high = egalitarian_ranges(tree)
    assert m == pytest.approx(egalitarian_value(tree))
    assert price(tree, "egalitarian", "lp").utilities.min() == pytest.approx(m, abs=1e-8)
    for i in range(tree.n):
        lo, hi = utility_range_lp(tree, i, m)
        assert low[i] == pytest.approx(lo, abs=1e-7 * tree.unit)
        assert high[i] == pytest.approx(hi, abs=1e-7 * tree.unit)
    pricing = price(tree, "egalitarian")
    assert pricing.unique == bool((high - low).max() <= 1e-9 * tree.unit)
    if equal_utility(tree).nonnegative:
        assert pricing.unique


def test_egalitarian_says_when_its_optimum_is_not_unique():
    tree = example_tree(b=8, s=2)  # min u = 4 is forced on nodes 2, 4, 5, 6 only
    pricing = price(tree, "egalitarian")
    assert not pricing.unique
    assert pricing.low is not None and pricing.high is not None
    spread = {tree.names[i] for i in range(tree.n) if pricing.high[i] > pricing.low[i] + 1e-9}
    assert spread == {"0", "1", "3"}


def test_nash_on_the_open_case_of_fig_1a():
    tree = example_tree(b=8, s=2)
    pricing = price(tree, "nash", "cvxpy")
    assert "polish" in pricing.method and pricing.certificate.ok
    np.testing.assert_allclose(pricing.utilities, leximin_bruteforce(tree), atol=1e-9)


def test_nash_is_undefined_on_an_unprofitable_tree():
    tree = example_tree(b=1, s=10)
    with pytest.raises(NashUndefinedError, match="use rule leximin or egalitarian"):
        price(tree, "nash")
    assert price(tree, "leximin").utilities.max() < 0


def test_nash_when_the_surplus_is_zero_gives_everyone_zero():
    tree = example_tree(b=1, s=4)  # Σ b = 4 = s
    pricing = price(tree, "nash")
    np.testing.assert_allclose(pricing.utilities, 0, atol=1e-12)
    assert pricing.nash_log_welfare is None
    prices, method = nash_cvxpy(tree)
    assert method == "forced"
    np.testing.assert_allclose(tree.utilities(prices), 0, atol=1e-12)


def test_rule_and_method_names_are_checked():
    tree = example_tree()
    with pytest.raises(ValueError, match="unknown rule"):
        price(tree, "utilitarian")
    with pytest.raises(ValueError, match="unknown method"):
        price(tree, "leximin", "simplex")
    with pytest.raises(ValueError, match="cvxpy"):
        price(tree, "leximin", "cvxpy")
    with pytest.raises(ValueError, match="lp"):
        price(tree, "nash", "lp")
