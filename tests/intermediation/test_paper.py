"""The paper's worked example (Fig. 1a, system (15)-(17)) and its propositions."""

import numpy as np
import pytest

from treemarket.intermediation import (
    NashUndefinedError,
    equal_utility,
    example_tree,
    leximin_utilities,
    price,
    profitability,
)
from treemarket.io.intermediation_file import tree_from_data

from .oracles import leximin_bruteforce, utilities_by_definition

GRID_B = [0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0]
GRID_S = [0.0, 0.25, 1.0, 2.0, 4.0, 6.0, 10.0, 40.0]


def test_symbols_map_onto_the_node_names_of_the_example_file():
    """The paper writes the example with limits indexed by product sets: b_12 is the limit of the
    customer buying {1, 2}, which is node "3" of the example file of docs/intermediation.md (2b);
    b_3 and b_4 are the limits of the customers buying {3} and {4}, nodes "6" and "5" (b each).
    Prices are indexed by the buying node: p4 is the price on the edge 1 -> 4, p2 on 0 -> 2, and
    so on."""
    tree = example_tree(b=8, s=6)
    products = {name: tree.products_of(tree.index[name]) for name in tree.names}
    assert products["3"] == (1, 2) and products["6"] == (3,) and products["5"] == (4,)
    limits = {name: tree.limit[tree.index[name]] for name in ("0", "3", "6", "5")}
    assert limits == {"0": 6.0, "3": 16.0, "6": 8.0, "5": 8.0}
    parent = {name: tree.names[tree.parent[tree.index[name]]] for name in tree.names[1:]}
    assert parent == {"1": "0", "3": "1", "4": "1", "6": "4", "2": "0", "5": "2"}


@pytest.mark.parametrize("b", GRID_B)
@pytest.mark.parametrize("s", GRID_S)
def test_equal_utility_prices_are_the_closed_forms_16_17(b, s):
    tree = example_tree(b=b, s=s)
    eq = equal_utility(tree)
    h = (4 * b - s) / 7  # (17)
    assert eq.h == pytest.approx(h, abs=1e-12)
    p = {name: eq.prices[tree.index[name]] for name in tree.names[1:]}
    expected = {
        "6": b - h,
        "5": b - h,
        "4": b - 2 * h,
        "2": b - 2 * h,
        "3": 2 * b - h,
        "1": 3 * b - 4 * h,
    }  # (16)
    for name, value in expected.items():
        assert p[name] == pytest.approx(value, abs=1e-9), name
    # (14): every participant gets h with these prices
    u = utilities_by_definition(tree, list(eq.prices))
    assert u == pytest.approx([h] * 7, abs=1e-9)
    # the prices are all >= 0 exactly when b <= 2s (19), given collective profitability
    if b >= s / 4:
        assert eq.nonnegative == (b <= 2 * s)


@pytest.mark.parametrize("b", GRID_B)
@pytest.mark.parametrize("s", GRID_S)
@pytest.mark.parametrize("rule", ["leximin", "egalitarian", "nash"])
def test_every_rule_returns_the_closed_forms_when_b_at_most_2s(b, s, rule):
    tree = example_tree(b=b, s=s)
    if rule == "nash" and 4 * b < s:  # not profitable: Σ log u has no value
        with pytest.raises(NashUndefinedError):
            price(tree, rule)
        return
    eq = equal_utility(tree)
    pricing = price(tree, rule)
    if eq.nonnegative:
        np.testing.assert_allclose(pricing.prices, eq.prices, atol=1e-12)
        assert pricing.method == "equal-utility"
    else:  # b > 2s: the constrained optimum, checked against brute force
        assert b > 2 * s
        assert pricing.prices.min() >= 0
        np.testing.assert_allclose(pricing.utilities, leximin_bruteforce(tree), atol=1e-9)
        np.testing.assert_allclose(pricing.utilities, leximin_utilities(tree, "lp"), atol=1e-7)
    assert pricing.certificate.ok
    assert pricing.utilities.sum() == pytest.approx(4 * b - s, abs=1e-9)


@pytest.mark.parametrize("b", [3.0, 5.0, 8.0])
def test_beyond_2s_the_optimum_beats_every_feasible_price_vector_on_the_minimum(b):
    s = 1.0
    tree = example_tree(b=b, s=s)
    assert not equal_utility(tree).nonnegative  # Prop. 3 does not apply
    best = price(tree).utilities
    rng = np.random.default_rng(0)
    for _ in range(300):
        u = rng.dirichlet(np.ones(7)) * (4 * b - s)  # random utilities with the right total
        p = tree.prices(u)
        if p[1:].min() >= 0:
            assert best.min() >= u.min() - 1e-12
            assert np.log(best).sum() >= np.log(u).sum() - 1e-12


@pytest.mark.parametrize("b", [2.5, 3.0, 5.0, 8.0, 13.0])
def test_the_closed_form_we_found_beyond_2s_agrees_with_brute_force(b):
    """Our finding for the open case (docs/intermediation.md): for b > 2s the edges into 2 and
    4 are priced 0, nodes 2, 4, 5, 6 get b/2 and nodes 0, 1, 3 get (2b − s)/3."""
    s = 1.0
    tree = example_tree(b=b, s=s)
    found = {"0": (2 * b - s) / 3, "1": (2 * b - s) / 3, "3": (2 * b - s) / 3}
    found.update({"2": b / 2, "4": b / 2, "5": b / 2, "6": b / 2})
    brute = leximin_bruteforce(tree)
    for name, value in found.items():
        assert brute[tree.index[name]] == pytest.approx(value, abs=1e-9)
    prices = price(tree).prices
    assert prices[tree.index["1"]] == pytest.approx((2 * b + 2 * s) / 3)
    assert prices[tree.index["3"]] == pytest.approx((4 * b + s) / 3)
    assert prices[tree.index["2"]] == prices[tree.index["4"]] == 0.0


def test_prop1_transactions_and_chains_of_fig_1a():
    tree = example_tree()
    assert tree.transactions == 6 == tree.customers + tree.intermediaries
    assert (tree.customers, tree.intermediaries) == (3, 3)
    assert tree.chains() == [["0", "1", "3"], ["0", "1", "4", "6"], ["0", "2", "5"]]


@pytest.mark.parametrize("s", [0.0, 5.0, 31.9, 32.0, 32.1, 100.0])
def test_prop2_profitable_iff_sum_b_at_least_s_with_a_witness(s):
    tree = example_tree(b=8, s=s)  # Σ b = 32
    pr = profitability(tree)
    assert pr.profitable == (s <= 32)
    assert pr.surplus == pytest.approx(32 - s)
    if pr.profitable:
        p = pr.witness_prices
        assert p is not None and p.min() >= 0
        u = utilities_by_definition(tree, list(p))
        assert min(u) >= -1e-12
        assert pr.shortfall == 0
    else:
        assert pr.witness_prices is None
        assert pr.shortfall == pytest.approx(s - 32)
        assert "not collectively profitable" in pr.verdict()


def test_the_paper_proof_annotation_is_feasible_when_alpha_small():
    """The proof of Prop. 2 for Fig. 1a: equal slack α in the last six equations (6) works for
    0 ≤ α ≤ min{b3/2, b4/2, b12, (b12 + b3)/4, (b12 + b3 + b4 − s)/6}."""
    b12, b3, b4, s = 16.0, 8.0, 8.0, 6.0
    alpha = min(b3 / 2, b4 / 2, b12, (b12 + b3) / 4, (b12 + b3 + b4 - s) / 6)
    tree = tree_from_data(example_tree(b=8, s=6).to_dict())
    p = {
        "6": b3 - alpha,
        "5": b4 - alpha,
        "4": b3 - 2 * alpha,
        "3": b12 - alpha,
        "2": b4 - 2 * alpha,
        "1": b12 + b3 - 4 * alpha,
    }
    prices = [0.0] + [p[name] for name in tree.names[1:]]
    u = utilities_by_definition(tree, prices)
    assert min(prices) >= 0 and min(u) >= -1e-12
    assert u[1:] == pytest.approx([alpha] * 6)
