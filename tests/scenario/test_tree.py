"""The array scenario tree: builders, structure invariants, conditional expectations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treemarket.scenario import ScenarioTree
from treemarket.testing import random_tree


def _direct_expectation(tree, values):
    """E[V | event] straight from the definition: a weighted mean over each node's scenarios."""
    out = np.empty((values.shape[0], tree.n_nodes))
    for n in range(tree.n_nodes):
        a, b = tree.event_start[n], tree.event_stop[n]
        w = tree.scenario_prob[a:b]
        out[:, n] = values[:, a:b] @ w / w.sum()
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 4), st.booleans())
def test_structure_and_expectations(seed, horizon, uneven):
    rng = np.random.default_rng(seed)
    tree = random_tree(rng, horizon, (1, 3), dirichlet=0.5 if uneven else None)
    # levels, parents one level up, children contiguous
    assert tree.horizon == horizon
    assert np.all(tree.time[tree.parent[tree.parent >= 0]] == tree.time[tree.parent >= 0] - 1)
    assert np.all(np.diff(tree.parent[tree.level_offsets[1] :]) >= 0)
    # probabilities: each level sums to 1, children's conditional probabilities sum to 1
    for t in range(horizon + 1):
        assert tree.prob[tree.level(t)].sum() == pytest.approx(1.0)
    kids = tree.parent >= 0
    sums = np.bincount(tree.parent[kids], weights=tree.cond_prob[kids], minlength=tree.n_nodes)
    inner = tree.n_children > 0
    np.testing.assert_allclose(sums[inner], 1.0)
    # events nest: a child's scenarios are inside its parent's
    p = tree.parent[kids]
    assert np.all(tree.event_start[kids] >= tree.event_start[p])
    assert np.all(tree.event_stop[kids] <= tree.event_stop[p])
    values = rng.normal(size=(3, tree.n_scenarios))
    np.testing.assert_allclose(
        tree.conditional_expectation(values), _direct_expectation(tree, values), atol=1e-12
    )


def test_paths_sharing_a_history_share_a_node():
    states = np.array(
        [["s", "rain", "wet"], ["s", "dry", "sun"], ["s", "rain", "wet"], ["s", "rain", "dry"]]
    )
    tree, order = ScenarioTree.from_paths(states, weights=[1, 2, 1, 4])
    assert tree.n_nodes == 1 + 2 + 3
    assert tree.n_scenarios == 4 and tree.n_leaves == 3  # two identical paths, one leaf
    leaf_sizes = (tree.event_stop - tree.event_start)[tree.leaves]
    assert sorted(leaf_sizes.tolist()) == [1, 1, 2]
    np.testing.assert_allclose(sorted(tree.prob[tree.level(1)]), [0.25, 0.75])
    # a leaf with two scenarios takes their conditional mean
    values = np.array([[10.0, 0.0, 30.0, 5.0]])[:, order]
    v = tree.conditional_expectation(values)
    merged = tree.leaves[leaf_sizes == 2][0]
    assert v[0, merged] == pytest.approx(20.0)


def test_partitions_and_paths_build_the_same_tree():
    parts = [[["a", "b", "c"]], [["a", "b"], ["c"]], [["a"], ["b"], ["c"]]]
    t1 = ScenarioTree.from_partitions(parts, {"a": 0.2, "b": 0.3, "c": 0.5})
    t2, _ = ScenarioTree.from_paths([[0, 0, 0], [0, 0, 1], [0, 1, 2]], [0.2, 0.3, 0.5])
    np.testing.assert_array_equal(t1.parent, t2.parent)
    np.testing.assert_allclose(t1.prob, t2.prob)


def test_subtree_has_conditional_probabilities():
    rng = np.random.default_rng(3)
    tree = random_tree(rng, 3, 2, dirichlet=1.0)
    node = int(tree.level(1).start)
    sub, node_map, scenarios = tree.subtree(node)
    assert sub.horizon == 2 and node_map[0] == node
    np.testing.assert_allclose(sub.prob, tree.prob[node_map] / tree.prob[node])
    values = rng.normal(size=(2, tree.n_scenarios))
    np.testing.assert_allclose(
        sub.conditional_expectation(values[:, scenarios]),
        tree.conditional_expectation(values)[:, node_map],
    )


def test_a_million_nodes_builds():
    """10^6 nodes through the vectorized builder (speed is measured in the benchmark)."""
    rng = np.random.default_rng(0)
    tree = random_tree(rng, 19, 2)
    assert tree.n_nodes == 2**20 - 1
    v = tree.conditional_expectation(rng.normal(size=(2, tree.n_scenarios)))
    assert v.shape == (2, tree.n_nodes)
    assert np.isfinite(v).all()


def test_node_names_for_large_events_and_several_roots():
    """Events over six scenarios are named by their place among their siblings; with labels
    the path of labels names a node, and a node without a label shows a short event."""
    names = [f"s{k}" for k in range(8)]
    tree = ScenarioTree.from_partitions(
        [[names], [names[:7], names[7:]], [[n] for n in names]], dict.fromkeys(names, 1 / 8)
    )
    got = tree.node_names()
    assert got[0] == "root" and got[1] == "#1" and got[2] == "s7"
    assert all(len(n) < 30 for n in got)
    paths, _ = ScenarioTree.from_paths([["a", "x"], ["b", "x"], ["b", "y"]], label_states=True)
    assert paths.node_names() == ["a", "b", "a → x", "b → x", "b → y"]
