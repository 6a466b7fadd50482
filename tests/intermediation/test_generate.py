"""Random trees (:mod:`treemarket.intermediation.generate`): sizes, shapes and limits as
documented, checked on the trees themselves with plain loops."""

import numpy as np
import pytest

from treemarket.intermediation.generate import random_tree

from .oracles import children_lists


@pytest.mark.parametrize("shape", ["recursive", "network", "caterpillar"])
@pytest.mark.parametrize("n", [2, 3, 17, 200])
def test_every_shape_has_n_nodes_and_valid_limits(shape, n):
    tree = random_tree(n, 3, shape=shape)
    kids = children_lists(tree)
    leaves = [i for i in range(n) if not kids[i]]
    assert tree.n == n and tree.customers == len(leaves)
    b = tree.limit[leaves]
    assert np.all((b >= 0) & (b < 10))
    assert np.isnan(np.delete(tree.limit, [0, *leaves])).all()  # intermediaries carry none
    assert 0 <= tree.seller_limit <= tree.total_limit  # s: a fraction of Σ b


@pytest.mark.parametrize("n", [20, 21])
def test_caterpillar_is_a_spine_with_customers_hanging_off_it(n):
    tree = random_tree(n, 0, shape="caterpillar")
    kids = children_lists(tree)
    inner = [v for v in range(n) if kids[v]]
    assert len(inner) == n // 2 == tree.height
    for v in inner:  # a path of intermediaries, each selling to at least one customer
        assert sum(1 for k in kids[v] if kids[k]) <= 1
        assert any(not kids[k] for k in kids[v])


def test_network_has_about_five_levels_and_no_idle_node_above_the_last():
    tree = random_tree(5000, 1, shape="network")
    kids = children_lists(tree)
    assert 4 <= tree.height <= 6
    last = tree.height
    assert all(kids[v] for v in range(tree.n) if tree.depth[v] < last - 1)


def test_recursive_trees_are_low():
    heights = [random_tree(2000, seed).height for seed in range(5)]
    assert max(heights) < 4 * np.e * np.log(2000)


def test_integer_limits_and_a_given_seller():
    tree = random_tree(50, 2, limits="integer", seller=7.5)
    b = tree.limit[tree.is_leaf]
    assert np.array_equal(b, np.round(b)) and b.min() >= 0 and b.max() <= 10
    assert tree.seller_limit == 7.5


def test_the_same_seed_gives_the_same_tree():
    a, b = random_tree(100, 9, shape="network"), random_tree(100, 9, shape="network")
    assert np.array_equal(a.parent, b.parent)
    np.testing.assert_array_equal(a.limit, b.limit)
    c = random_tree(100, 10, shape="network")
    assert not np.array_equal(np.nan_to_num(a.limit), np.nan_to_num(c.limit))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 1}, "at least 2 nodes"),
        ({"n": 5, "shape": "star"}, "unknown shape"),
        ({"n": 5, "limits": "normal"}, "unknown limits"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        random_tree(rng=0, **kwargs)
