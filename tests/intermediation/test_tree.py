"""The tree: constructors agree, Definition 1 is enforced, Prop. 1 (t = r + x, chains), sums
without cancellation."""

import math
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treemarket.errors import ModelError
from treemarket.intermediation import (
    IntermediationTree,
    certificate,
    example_tree,
    format_products,
    leximin_utilities,
)
from treemarket.intermediation.generate import random_tree
from treemarket.intermediation.tree import MAX_LEVELS, bin_sums
from treemarket.intermediation.waterfill import isotonic_target
from treemarket.io.intermediation_file import tree_from_data, tree_from_networkx

from .oracles import children_lists, exact_utilities, subtree_nodes
from .strategies import trees


def _fig1a_dict():
    return example_tree(b=8, s=6).to_dict()


def test_dict_networkx_and_arrays_build_the_same_tree():
    a = tree_from_data(_fig1a_dict())
    b = tree_from_networkx(a.to_networkx(), name="fig-1a")
    # the same tree given as a parent array in another node order
    names = ["5", "0", "2", "6", "1", "4", "3"]
    parents = {"0": None, "1": "0", "2": "0", "3": "1", "4": "1", "5": "2", "6": "4"}
    parent = [names.index(parents[v]) if parents[v] else -1 for v in names]
    limits = {"0": 6, "3": 16, "5": 8, "6": 8}
    limit = [float(limits.get(v, np.nan)) for v in names]
    products = [list(a.products_of(a.index[v])) for v in names]
    c = IntermediationTree.from_arrays(parent, limit, names=names, products=products)
    for t in (b, c):
        assert set(t.names) == set(a.names)
        for v in a.names:
            i, j = a.index[v], t.index[v]
            assert t.products_of(j) == a.products_of(i)
            assert np.isnan(t.limit[j]) == np.isnan(a.limit[i])
            if not np.isnan(a.limit[i]):
                assert t.limit[j] == a.limit[i]
            if i:
                assert t.names[t.parent[j]] == a.names[a.parent[i]]
    assert tree_from_data(a.to_dict()).to_dict() == a.to_dict()


def test_root_node_dict_alone_is_accepted():
    tree = tree_from_data(_fig1a_dict()["tree"])
    assert tree.n == 7 and tree.name is None


@settings(max_examples=60, deadline=None)
@given(trees(max_nodes=25))
def test_prop1_edges_chains_and_subtrees(tree):
    kids = children_lists(tree)
    assert tree.transactions == tree.n - 1 == tree.customers + tree.intermediaries
    chains = tree.chains()
    assert len(chains) == tree.customers  # one chain per customer
    for chain in chains:
        idx = [tree.index[v] for v in chain]
        assert idx[0] == 0 and not kids[idx[-1]]
        assert all(tree.parent[b] == a for a, b in zip(idx, idx[1:], strict=False))
    # the chains cover every edge
    edges = {(a, b) for ch in chains for a, b in zip(ch, ch[1:], strict=False)}
    assert len(edges) == tree.transactions
    # preorder ranges are the subtrees
    subs = subtree_nodes(tree)
    for j in range(tree.n):
        assert sorted(subs[j]) == list(range(j, j + int(tree.size[j])))
        assert tree.depth[j] == (0 if j == 0 else tree.depth[tree.parent[j]] + 1)
    values = np.arange(tree.n, dtype=float) ** 1.5
    sums = tree.subtree_sum(values)
    for j in range(tree.n):
        assert sums[j] == pytest.approx(values[subs[j]].sum())


def test_default_products_one_per_customer_and_unions_above():
    tree = IntermediationTree.from_arrays([-1, 0, 1, 1, 0], [1.0, np.nan, 2.0, 3.0, 4.0])
    assert tree.products_of(0) == ("2", "3", "4")
    assert tree.products_of(1) == ("2", "3")
    assert tree.products_of(tree.index["4"]) == ("4",)


def test_deep_trees_use_depth_free_methods():
    tree = random_tree(2 * MAX_LEVELS + 201, 4, shape="caterpillar")
    assert tree.height > MAX_LEVELS
    values = np.random.default_rng(0).random(tree.n)
    expected = values.copy()
    for j in range(tree.n - 1, 0, -1):  # children after parents in preorder
        expected[tree.parent[j]] += expected[j]
    np.testing.assert_allclose(tree.subtree_sum(values), expected, rtol=1e-13, atol=1e-12)
    u = leximin_utilities(tree)  # the heap algorithm here
    assert certificate(tree, tree.prices(u)).ok


# ------------------------------------------------------------------ sums without cancellation


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.floats(-1e6, 1e6, allow_subnormal=False)),
        min_size=1,
        max_size=40,
    )
)
def test_bin_sums_are_the_exact_sums_rounded(pairs):
    bins = np.array([b for b, _ in pairs])
    values = np.array([v for _, v in pairs])
    values = np.r_[values, -values * (1 + 1e-13)]  # cancellation down to 1e-13 of the terms
    bins = np.r_[bins, bins]
    got = bin_sums(values, bins, 5)
    for b in range(5):
        terms = values[bins == b].tolist()
        exact = math.fsum(terms)
        slack = 2.0**-104 * len(terms) ** 2 * math.fsum(abs(t) for t in terms)
        assert abs(got[b] - exact) <= np.spacing(abs(exact)) + slack, (b, got[b], exact)


def _near_the_limits(tree: IntermediationTree) -> np.ndarray:
    """Prices that leave every utility tiny beside the limits: ``B_j − |T_j| 1e-6 Σ b / n``."""
    return tree.subtree_limit - tree.size * (1e-6 * tree.total_limit / tree.n)


@settings(max_examples=60, deadline=None)
@given(trees(max_nodes=25))
def test_utilities_and_prices_are_exact_values_rounded(tree):
    """Utilities of ``p`` by rational arithmetic against ``tree.utilities``, and back through
    ``tree.prices``: each the exact value rounded once, however much the terms cancel."""
    kids = children_lists(tree)
    subs = subtree_nodes(tree)
    for p in (_near_the_limits(tree), np.random.default_rng(tree.n).random(tree.n) * tree.unit):
        p[0] = 0.0
        u = tree.utilities(p)
        exact = exact_utilities(tree, p)
        for i in range(tree.n):
            terms = abs(p[i]) + sum(abs(p[k]) for k in kids[i]) + abs(isotonic_target(tree)[i])
            slack = 2.0**-100 * (tree.n * 2) ** 2 * terms
            assert abs(u[i] - float(exact[i])) <= np.spacing(abs(float(exact[i]))) + slack
        back = tree.prices(u)
        for j in range(1, tree.n):
            b = sum(Fraction(float(tree.limit[i])) for i in subs[j] if not kids[i])
            p_exact = b - sum(Fraction(float(u[i])) for i in subs[j])
            magnitude = tree.subtree_limit[j] + np.abs(u[subs[j]]).sum()
            slack = 2.0**-100 * (tree.n * 2) ** 2 * tree.height * magnitude
            assert abs(back[j] - float(p_exact)) <= np.spacing(abs(float(p_exact))) + slack


def test_subtree_sums_of_several_arrays_add_them_exactly():
    tree = example_tree(b=8, s=6)
    big = np.full(tree.n, 1e16)
    ones = np.ones(tree.n)
    np.testing.assert_array_equal(tree.subtree_sum(big, ones, -big), tree.size.astype(float))
    np.testing.assert_array_equal(tree.subtree_sum(big + ones - big), np.zeros(tree.n))


def test_format_products():
    assert format_products([2, 1]) == "{1, 2}"
    assert format_products(range(1, 9)) == "{1–8}"
    assert format_products([1, 2, 3, 5, 6, 7, 8, 9, "z"]) == "{1, 2, 3, 5–9, z}"
    assert format_products([1, 2, 3, 4]) == "{1, 2, 3, 4}"


# ------------------------------------------------------------------ Definition 1, from Python


def _mutate(path, key, value):
    data = _fig1a_dict()
    node = data["tree"]
    for i in path:
        node = node["children"][i]
    if value is None:
        node.pop(key)
    else:
        node[key] = value
    return data


BAD = [
    ((), "products", [], "tree.products", "products must not be empty"),
    ((0,), "products", [1, 2, 2, 3], "tree.children[0].products", "product 2 is listed twice"),
    ((0, 1), "products", [5], "tree.children[0].children", "lacks"),
    ((0, 1), "products", [2], "tree.children[0].children", "product {2} is in more than one"),
    ((0, 1, 0), "products", [3, 4], "tree.children[0].children[1].children", "lacks"),
    ((), "products", [1, 2, 3, 4, 9], "tree.children", "products {9} are in no child"),
    ((0, 1, 0), "products", [], "tree.children[0].children[1].children", "{3} are in no child"),
    ((0, 0), "limit", None, "tree.children[0].children[0]", "needs a limit price b"),
    ((0,), "limit", 3.0, "tree.children[0].limit", "must not carry a limit"),
    ((), "limit", None, "tree", "needs its limit price s"),
    ((0, 1, 0), "name", "3", "tree.children[0].children[1].children[0].name", "used twice"),
    ((1, 0), "limit", -1.0, "tree.children[1].children[0].limit", "greater than or equal to 0"),
    ((1, 0), "limit", float("inf"), "tree.children[1].children[0].limit", "finite"),
    ((1, 0), "limit", "8", "tree.children[1].children[0].limit", "must be a number"),
    ((1,), "colour", "red", "tree.children[1].colour", "unknown key"),
    ((1,), "products", None, "tree.children[1].products", "required key is missing"),
    ((1,), "name", 2.5, "tree.children[1].name", "must be a string"),
]


@pytest.mark.parametrize(("path", "key", "value", "place", "message"), BAD)
def test_definition_1_violations_name_the_node(path, key, value, place, message):
    with pytest.raises(ModelError) as info:
        tree_from_data(_mutate(path, key, value))
    assert info.value.place == place
    assert message in info.value.message


def test_long_chains_have_no_depth_limit():
    node = {"name": "leaf", "products": [1], "limit": 5}
    for k in range(600):
        node = {"name": f"n{k}", "products": [1], "children": [node]}
    node["limit"] = 1.0
    tree = tree_from_data(node)
    assert tree.height == 600 and tree.customers == 1
    assert leximin_utilities(tree) == pytest.approx(np.full(601, 4 / 601))


def test_the_seller_needs_children():
    with pytest.raises(ModelError, match="has no children"):
        tree_from_data({"name": "S", "products": [1], "limit": 1})


# ------------------------------------------------------------------ networkx and arrays


def test_networkx_trees_are_checked():
    g = example_tree().to_networkx()
    h = g.copy()
    h.add_edge("5", "1")  # '1' gets a second parent
    with pytest.raises(ModelError, match="'1' has 2 parents"):
        tree_from_networkx(h)
    h = g.copy()
    h.add_node("x", products=[9], limit=1)
    with pytest.raises(ModelError, match="2 roots"):
        tree_from_networkx(h)
    h = nx.DiGraph([("a", "b"), ("b", "a")])
    with pytest.raises(ModelError, match="no root"):
        tree_from_networkx(h)
    h = g.copy()
    h.add_edges_from([("6", "7"), ("7", "8"), ("8", "7")])
    with pytest.raises(ModelError, match="parents|cycle"):
        tree_from_networkx(h)
    with pytest.raises(ModelError, match="DiGraph"):
        tree_from_networkx(nx.Graph(g))
    h = g.copy()
    h.nodes["3"]["colour"] = "red"
    with pytest.raises(ModelError, match="unknown attribute 'colour'"):
        tree_from_networkx(h)
    h = g.copy()
    h.nodes["4"]["products"] = [3, 4]
    with pytest.raises(ModelError, match="node '1'"):
        tree_from_networkx(h)


@pytest.mark.parametrize(
    ("parent", "limit", "message"),
    [
        ([-1, 0, 1, 2], [1, np.nan, np.nan, -2], "finite number >= 0"),
        ([-1, 0, 0], [np.inf, 1, 1], "the seller limit price"),
        ([-1, -1, 0], [1, 1, 1], "exactly one root"),
        ([-1, 2, 1], [1, 1, 1], "not connected to the root"),
        ([-1, 0, 5], [1, 1, 1], "out of range"),
        ([-1, 1], [1, 1], "its own parent"),
        ([-1], [1], "no customers"),
        ([-1, 0.5], [1, 1], "integer"),
        ([-1, 0], [1, 1, 1], "one entry per node"),
    ],
)
def test_arrays_are_checked(parent, limit, message):
    with pytest.raises(ModelError, match=message):
        IntermediationTree.from_arrays(np.array(parent), np.array(limit, dtype=float))


def test_arrays_with_bad_products_or_names():
    with pytest.raises(ModelError, match="used twice"):
        IntermediationTree.from_arrays([-1, 0, 0], [1, 1, 1], names=["a", "b", "b"])
    with pytest.raises(ModelError, match="node 'a'"):
        IntermediationTree.from_arrays(
            [-1, 0, 0], [1, 1, 1], names=["a", "b", "c"], products=[[1, 2], [1], [1]]
        )
