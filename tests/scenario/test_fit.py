"""Trees fitted to paths: exact data gives back its tree, the reduction's distance, the distances
against independent computations, and what the data cannot support."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.stats import wasserstein_distance

from treemarket.errors import ModelError
from treemarket.scenario import ScenarioTree
from treemarket.scenario.fit import (
    PathData,
    backward_reduction,
    fan,
    fit_tree,
    forward_selection,
    nested_distance,
    path_cost,
    transport,
)

# a small tree: branching (3, 2), two variables, distinct states, uneven probabilities
LEAF_PATHS = np.array(
    [
        # t0 (rain, temp), t1, t2
        [[1.0, 10.0], [0.0, 12.0], [0.0, 15.0]],
        [[1.0, 10.0], [0.0, 12.0], [4.0, 11.0]],
        [[1.0, 10.0], [3.0, 9.0], [2.0, 8.0]],
        [[1.0, 10.0], [3.0, 9.0], [9.0, 7.0]],
        [[1.0, 10.0], [8.0, 6.0], [5.0, 6.0]],
        [[1.0, 10.0], [8.0, 6.0], [12.0, 5.0]],
    ]
)
COPIES = np.array([5, 3, 4, 2, 1, 5])  # probabilities 5/20, 3/20, ...
LEAF_VALUES = np.array([[9.0, 1.0], [7.0, 2.0], [6.0, 3.0], [2.0, 8.0], [4.0, 4.0], [0.0, 9.0]])


def _copies(seed: int = 0) -> tuple[PathData, np.ndarray]:
    rows = np.repeat(np.arange(len(COPIES)), COPIES)
    rows = np.random.default_rng(seed).permutation(rows)
    return PathData.from_array(LEAF_PATHS[rows], ["rain", "temp"]), LEAF_VALUES[rows]


@pytest.mark.parametrize("method", ["cluster", "reduce"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_copies_of_a_trees_paths_give_back_that_tree(method: str, seed: int) -> None:
    data, values = _copies(seed)
    fitted = fit_tree(data, [3, 2], method=method, seed=seed)  # type: ignore[arg-type]
    tree = fitted.tree
    expected, order = ScenarioTree.from_paths(
        [[0, a, 10 * a + b] for a in range(3) for b in range(2)], COPIES / COPIES.sum()
    )
    assert tree.parent.tolist() == expected.parent.tolist()
    assert tree.time.tolist() == expected.time.tolist()
    np.testing.assert_allclose(tree.prob, expected.prob)
    # the leaves' states and values are the original paths' (children ordered by state)
    leaf_order = np.lexsort((LEAF_PATHS[:, 2, 0], LEAF_PATHS[:, 1, 0]))
    np.testing.assert_allclose(fitted.state[tree.leaves], LEAF_PATHS[leaf_order, 2])
    np.testing.assert_allclose(fitted.leaf_values(values), LEAF_VALUES[leaf_order].T)
    np.testing.assert_allclose(fitted.state[0], [1.0, 10.0])
    assert (fitted.route(data) == fitted.path_node).all()
    assert fitted.notes == [] or method == "reduce"


def test_node_names_come_from_the_data() -> None:
    data, _ = _copies()
    fitted = fit_tree(data, [3, 2], words={"rain": ["dry", "wet"]})
    names = fitted.tree.node_names()
    # the words of rain by its median at each time (at most the median: dry); at t1 the
    # median of the copies is 3, at t2 it is 4
    assert names[0] == "root"  # the lone root is not labelled: its state is fitted.state[0]
    assert names[1:4] == [
        "dry 0, temp 12",
        "dry 3, temp 9",
        "wet 8, temp 6",
    ]
    assert names[-1] == "wet 8, temp 6 → wet 12, temp 5"


def test_categorical_states_keep_their_labels() -> None:
    codes = np.array([[0, 0, 1], [0, 0, 1], [0, 1, 0], [0, 1, 1]], dtype=float)
    data = PathData(codes[:, :, None], ("sky",), {"sky": ("cloud", "sun")})
    fitted = fit_tree(data, [2, 2])
    assert sorted(fitted.tree.node_names()) == sorted(
        [
            "root",
            "cloud",
            "sun",
            "cloud → sun",
            "sun → cloud",
            "sun → sun",
        ]
    )
    assert "1 of 2 nodes have fewer than 2 distinct observations" in fitted.notes[0]


def test_a_node_with_fewer_distinct_paths_than_k_gets_what_the_data_allows() -> None:
    paths = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 5, 7], [0, 5, 7], [0, 5, 7]], float)
    fitted = fit_tree(PathData.from_array(paths), [2, 3])
    assert fitted.tree.n_children[1:3].tolist() == [3, 1]
    assert fitted.notes and "fewer than 3" in fitted.notes[0]


def test_a_branching_the_data_cannot_support_is_an_error() -> None:
    data, _ = _copies()
    with pytest.raises(ModelError, match=r"branching\[0\]: asks for 4 children but the data"):
        fit_tree(data, [4, 2])
    with pytest.raises(ModelError, match="asks for 30 scenarios but the data has 20 paths"):
        fit_tree(data, [3, 10])
    with pytest.raises(ModelError, match="needs 2 numbers"):
        fit_tree(data, [3])


def test_clustering_is_reproducible_and_routes_new_paths() -> None:
    rng = np.random.default_rng(5)
    paths = np.cumsum(rng.normal(size=(400, 4, 2)), axis=1)
    data = PathData.from_array(paths)
    a = fit_tree(data, [3, 3, 2], seed=7)
    b = fit_tree(data, [3, 3, 2], seed=7)
    assert (a.path_node == b.path_node).all()
    assert (a.route(paths) == a.path_node).all()
    new = np.cumsum(rng.normal(size=(50, 4, 2)), axis=1)
    nodes = a.route(new)
    # every step goes to a child of the previous node
    assert (a.tree.parent[nodes[:, 1:]] == nodes[:, :-1]).all()
    assert a.tree.time[nodes].tolist() == [list(range(4))] * 50


def test_history_routing_and_reduce_route_their_own_paths_back() -> None:
    rng = np.random.default_rng(6)
    data = PathData.from_array(np.cumsum(rng.normal(size=(200, 4)), axis=1))
    for fitted in (
        fit_tree(data, [2, 2, 2], history=True),
        fit_tree(data, [2, 2, 2], method="reduce", scenarios=12),
        fit_tree(data, [2, 2, 2], method="reduce", reduction="backward"),
    ):
        assert (fitted.route(data) == fitted.path_node).all()
        assert fitted.tree.level(3).stop - fitted.tree.level(3).start <= 12
        np.testing.assert_allclose(fitted.tree.prob[fitted.tree.leaves].sum(), 1.0)


# --- scenario reduction -------------------------------------------------------------------


@pytest.mark.parametrize("reducer", [forward_selection, backward_reduction])
def test_reduction_distance_is_monotone_and_zero_when_nothing_is_removed(reducer) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 3, 2))
    p = rng.random(30)
    p /= p.sum()
    cost = path_cost(x)
    distances = [reducer(cost, p, n=n).distance for n in range(1, 31)]
    assert all(a >= b - 1e-12 for a, b in zip(distances, distances[1:], strict=False))
    assert distances[-1] == 0.0
    red = reducer(cost, p, n=10)
    # the distance is Σ p_k min over kept c: computed here independently
    independent = float(sum(p[k] * cost[k, red.kept].min() for k in range(30)))
    assert red.distance == pytest.approx(independent)
    np.testing.assert_allclose(red.prob.sum(), 1.0)


def test_reduction_to_a_tolerance_and_against_the_best_subset() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(9, 2, 1))
    p = np.full(9, 1 / 9)
    cost = path_cost(x)
    for reducer in (forward_selection, backward_reduction):
        red = reducer(cost, p, tolerance=0.3)
        assert red.distance <= 0.3
        # brute force: the best subset of the same size is at most as far, never more
        best = min(
            float(p @ cost[:, list(s)].min(axis=1))
            for s in itertools.combinations(range(9), red.kept.size)
        )
        assert best <= red.distance + 1e-12


# --- distances ----------------------------------------------------------------------------


def test_transport_lp_matches_scipy_wasserstein_in_one_dimension() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        u, v = rng.normal(size=7), rng.normal(size=5) + 0.5
        a, b = rng.random(7), rng.random(5)
        lp = transport(a, b, np.abs(np.subtract.outer(u, v)))
        assert lp == pytest.approx(wasserstein_distance(u, v, a, b), abs=1e-9)


def test_stage_w1_of_the_fitted_tree_matches_scipy() -> None:
    rng = np.random.default_rng(4)
    data = PathData.from_array(np.cumsum(rng.normal(size=(120, 3)), axis=1), ["x"])
    fitted = fit_tree(data, [3, 2])
    dist = fitted.distances(data)
    for t in range(3):
        level = fitted.tree.level(t)
        expected = wasserstein_distance(
            data.states[:, t, 0], fitted.state[level, 0], None, fitted.tree.prob[level]
        )
        assert dist.w1[t]["x"] == pytest.approx(expected)
        # one variable: the joint W1 is the same in standardised units
        assert dist.joint[t] == pytest.approx(expected / fitted.scaler.std[0], rel=1e-6)
    assert dist.nested is not None and dist.nested >= sum(dist.joint) - 1e-9


def _nested_by_one_lp(ta, xa, tb, xb) -> float:
    """The nested distance as one LP over couplings of the leaves (Pflug–Pichler), written
    from the definition: the conditional marginals hold at every pair of nodes."""
    la, lb = ta.ancestors, tb.ancestors  # (leaves, T + 1)
    na, nb = la.shape[0], lb.shape[0]
    cost = np.zeros((na, nb))
    for t in range(ta.horizon + 1):
        cost += np.linalg.norm(xa[la[:, t]][:, None, :] - xb[lb[:, t]][None, :, :], axis=2)
    rows, rhs = [], []
    pa, pb = ta.prob[ta.leaves], tb.prob[tb.leaves]
    for i in range(na):
        r = np.zeros((na, nb))
        r[i, :] = 1
        rows.append(r.ravel())
        rhs.append(pa[i])
    for j in range(nb):
        r = np.zeros((na, nb))
        r[:, j] = 1
        rows.append(r.ravel())
        rhs.append(pb[j])
    for t in range(ta.horizon):
        for m in range(ta.level(t).start, ta.level(t).stop):
            for n in range(tb.level(t).start, tb.level(t).stop):
                block = np.outer(la[:, t] == m, lb[:, t] == n)
                for child in np.nonzero(ta.parent == m)[0]:
                    r = np.outer(la[:, t + 1] == child, lb[:, t] == n) - ta.cond_prob[child] * block
                    rows.append(r.ravel())
                    rhs.append(0.0)
                for child in np.nonzero(tb.parent == n)[0]:
                    r = np.outer(la[:, t] == m, lb[:, t + 1] == child) - tb.cond_prob[child] * block
                    rows.append(r.ravel())
                    rhs.append(0.0)
    res = linprog(cost.ravel(), A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun)


def _random_tree(rng, branching, dim=1):
    paths = [list(p) for p in itertools.product(*[range(k) for k in branching])]
    states = [[0] + [int("".join(map(str, p[: t + 1]))) for t in range(len(p))] for p in paths]
    tree, _ = ScenarioTree.from_paths(states, rng.random(len(paths)) + 0.2)
    return tree, rng.normal(size=(tree.n_nodes, dim))


def test_nested_distance_matches_the_one_lp_definition_on_small_trees() -> None:
    rng = np.random.default_rng(8)
    for ba, bb in [((2, 2), (3, 1)), ((3, 2), (2, 2)), ((2, 1, 2), (1, 3, 1))]:
        ta, xa = _random_tree(rng, ba, dim=2)
        tb, xb = _random_tree(rng, bb, dim=2)
        value = nested_distance(ta, xa, tb, xb)
        assert value == pytest.approx(_nested_by_one_lp(ta, xa, tb, xb), abs=1e-8)
        assert value == pytest.approx(nested_distance(tb, xb, ta, xa), abs=1e-8)
        assert nested_distance(ta, xa, ta, xa) == pytest.approx(0.0, abs=1e-12)


def test_nested_distance_of_a_fan_to_a_tree_matches_the_one_lp() -> None:
    rng = np.random.default_rng(9)
    data = PathData.from_array(np.cumsum(rng.normal(size=(12, 3)), axis=1))
    fitted = fit_tree(data, [2, 2])
    feats = fitted.scaler.transform(data.states)
    data_tree, data_state = fan(feats)
    tree_state = fitted.scaler.transform(fitted.state)
    value = nested_distance(data_tree, data_state, fitted.tree, tree_state)
    assert value == pytest.approx(
        _nested_by_one_lp(data_tree, data_state, fitted.tree, tree_state), abs=1e-8
    )
    assert fitted.distances(data).nested == pytest.approx(value)
