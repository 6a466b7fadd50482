"""The water-filling (:mod:`treemarket.intermediation.waterfill`): its pieces against plain loops,
its answer against brute force over active sets and against the KKT certificate."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treemarket.intermediation import IntermediationTree, certificate
from treemarket.intermediation.generate import random_tree
from treemarket.intermediation.waterfill import (
    add_to_parents,
    block_levels,
    isotonic_target,
    path_min,
    waterfill,
    waterfill_heap,
    waterfill_levels,
)

from .oracles import children_lists, leximin_bruteforce, utilities_by_definition
from .strategies import trees

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(trees(max_nodes=20))
def test_the_target_is_the_utilities_at_zero_prices(tree):
    c = isotonic_target(tree)
    np.testing.assert_allclose(c, utilities_by_definition(tree, [0.0] * tree.n), atol=0)
    assert c.sum() == pytest.approx(tree.total_limit - tree.seller_limit, abs=1e-12 * tree.scale)


@FAST
@given(trees(max_nodes=20), st.data())
def test_block_levels_are_the_block_means_of_the_target(tree, data):
    tight = np.array([False] + [data.draw(st.booleans()) for _ in range(tree.n - 1)])
    c = utilities_by_definition(tree, [0.0] * tree.n)
    # blocks by a plain walk: the nearest ancestor-or-self that is the root or below a tight edge
    top = list(range(tree.n))
    for v in range(1, tree.n):
        top[v] = v if tight[v] else top[int(tree.parent[v])]
    expected = []
    for v in range(tree.n):
        members = [i for i in range(tree.n) if top[i] == top[v]]
        expected.append(sum(c[i] for i in members) / len(members))
    np.testing.assert_allclose(block_levels(tree, tight), expected, atol=1e-12 * tree.scale)
    # and to the last place: each block's sum is exact before the division (−s + Σ b cancels)
    exact = [Fraction(0)] * tree.n
    for v in range(tree.n):
        exact[top[v]] += Fraction(c[v])
    levels = block_levels(tree, tight)
    for v in range(tree.n):
        mean = float(exact[top[v]] / sum(1 for i in range(tree.n) if top[i] == top[v]))
        assert abs(levels[v] - mean) <= 2 * np.spacing(abs(mean))


@FAST
@given(trees(max_nodes=20))
def test_add_to_parents_and_path_min_match_loops(tree):
    rng = np.random.default_rng(tree.n)
    values = rng.normal(size=tree.n)
    order, offsets = tree.levels
    for d in range(1, offsets.size - 1):
        idx = order[offsets[d] : offsets[d + 1]]
        acc = np.zeros(tree.n)
        add_to_parents(acc, tree.parent[idx], values[idx])
        expected = np.zeros(tree.n)
        np.add.at(expected, tree.parent[idx], values[idx])
        np.testing.assert_allclose(acc, expected, atol=1e-12)
    low = path_min(tree, values)
    for v in range(tree.n):
        assert low[v] == min(values[a] for a in tree.path_to(v))


@FAST
@given(trees(max_nodes=9))
def test_both_algorithms_equal_brute_force_over_active_sets(tree):
    brute = leximin_bruteforce(tree)
    np.testing.assert_allclose(waterfill_levels(tree), brute, atol=1e-9 * tree.scale)
    np.testing.assert_allclose(waterfill_heap(tree), brute, atol=1e-9 * tree.scale)


@FAST
@given(trees(max_nodes=30))
def test_water_filling_by_levels_and_by_heaps_agree_and_are_certified(tree):
    a, b = waterfill_levels(tree), waterfill_heap(tree)
    np.testing.assert_allclose(a, b, atol=1e-10 * tree.unit)
    cert = certificate(tree, tree.prices(a))
    assert cert.ok, cert


@FAST
@given(trees(max_nodes=30))
def test_the_answer_is_the_block_means_of_its_own_blocks(tree):
    """Utilities drop only below edges priced 0, and each block sits at the mean of its target."""
    u = waterfill(tree)
    kids = children_lists(tree)
    tight = np.array([False] + [u[j] < u[tree.parent[j]] for j in range(1, tree.n)])
    np.testing.assert_allclose(block_levels(tree, tight), u, atol=1e-9 * tree.unit)
    p = tree.prices(u)
    assert all(p[j] <= 1e-9 * tree.scale for j in range(1, tree.n) if tight[j])
    assert all(u[k] <= u[j] + 1e-9 * tree.unit for j in range(tree.n) for k in kids[j])


@pytest.mark.parametrize("delta", [1e-10, 1e-12, 1e-13])
def test_a_split_worth_far_less_than_the_limits_is_made(delta):
    """Customers with limits 5, 5 and 1e-6 − δ, and Σ b − s = 4e-6: the last customer is held to
    its limit (its price is 0) and the rest is shared equally. The split is worth δ, nothing beside
    the limits but not beside the utilities: with a tolerance of 1e-12 times the largest limit
    the water-filling by levels left it unmade and returned a negative price."""
    b3 = 1e-6 - delta
    tree = IntermediationTree.from_arrays([-1, 0, 0, 0], [10 + b3 - 4e-6, 5.0, 5.0, b3])
    for u in (waterfill_levels(tree), waterfill_heap(tree)):
        assert u[3] == b3
        np.testing.assert_allclose(u[:3], (tree.surplus - b3) / 3, rtol=1e-9)
        p = tree.prices(u)
        assert p[3] == 0 and p.min() >= 0


@pytest.mark.parametrize("shape", ["recursive", "network", "caterpillar"])
def test_water_filling_on_thousands_of_nodes(shape):
    tree = random_tree(3000, 11, shape=shape)
    u = waterfill_levels(tree)
    np.testing.assert_allclose(u, waterfill_heap(tree), atol=1e-10 * tree.unit)
    assert certificate(tree, tree.prices(u)).ok
