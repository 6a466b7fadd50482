"""The issue's conjecture: on the set of feasible utilities (p ≥ 0), the leximin point maximizes
Nash welfare and every symmetric concave welfare at once (Fujishige's lexicographically optimal
base), and it is the dual of an isotonic regression. Checked against LPs and conic programs that
know nothing of the water-filling."""

import warnings

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings

from treemarket.intermediation import isotonic_target, leximin_utilities, price
from treemarket.intermediation.generate import random_tree

from .oracles import _feasible_lp, max_sum_of_smallest
from .strategies import trees


@settings(max_examples=20, deadline=None)
@given(trees(max_nodes=9))
def test_leximin_maximizes_the_sum_of_the_k_smallest_utilities_for_every_k(tree):
    """Being best for every k at once means every other feasible utility vector majorizes it,
    so it maximizes every Schur-concave (in particular every symmetric concave) welfare."""
    u = np.sort(leximin_utilities(tree))
    for k in range(1, tree.n + 1):
        assert u[:k].sum() >= max_sum_of_smallest(tree, k) - 1e-7 * tree.unit * k


def _welfares():
    """Symmetric concave welfare functions, separable and not."""
    return {
        "min": lambda u: u.min(),
        "sum of 2 smallest": lambda u: np.sort(u)[:2].sum(),
        "-sum exp(-u)": lambda u: -np.exp(-u).sum(),
        "sum min(u, 1)": lambda u: np.minimum(u, 1.0).sum(),
        "-variance": lambda u: -u.var(),
        "-max": lambda u: -u.max(),
        "sum sqrt(u+)": lambda u: np.sqrt(np.maximum(u, 0)).sum() if u.min() >= 0 else -np.inf,
    }


@pytest.mark.parametrize("shape", ["recursive", "network", "caterpillar"])
def test_no_random_feasible_prices_beat_the_leximin_point_on_any_welfare(shape):
    rng = np.random.default_rng(7)
    for seed in range(8):
        tree = random_tree(15, seed, shape=shape)
        best = leximin_utilities(tree)
        B = tree.subtree_limit
        candidates = []
        for _ in range(200):  # feasible prices: anywhere in [0, B_j], or near the optimum
            p = rng.random(tree.n) * B
            candidates.append(p)
        p_star = tree.prices(best)
        for _ in range(200):
            candidates.append(np.maximum(p_star + rng.normal(0, 0.2, tree.n), 0))
        for p in candidates:
            p[0] = 0.0
            u = tree.utilities(p)
            for name, w in _welfares().items():
                assert w(best) >= w(u) - 1e-9, (name, seed)


def _solve_quietly(problem):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        problem.solve(solver=cp.CLARABEL)
    assert problem.status == "optimal", problem.status


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_concave_welfares_by_a_conic_solver_land_on_the_leximin_point(seed):
    tree = random_tree(25, seed, shape="network")
    A, c = _feasible_lp(tree)  # u = (A p + c) · unit
    best = leximin_utilities(tree) / tree.unit
    objectives = {
        "min-norm": lambda u: cp.Minimize(cp.sum_squares(u)),
        "sum -exp(-u)": lambda u: cp.Maximize(-cp.sum(cp.exp(-u))),
        "sum sqrt(u)": lambda u: cp.Maximize(cp.sum(cp.sqrt(u))),
    }
    for name, objective in objectives.items():
        p = cp.Variable(tree.n - 1, nonneg=True)
        u = A @ p + c
        problem = cp.Problem(objective(u))
        _solve_quietly(problem)
        np.testing.assert_allclose(A @ p.value + c, best, atol=2e-4, err_msg=name)


@pytest.mark.parametrize("seed", [4, 5])
def test_the_leximin_point_is_the_isotonic_regression_of_c(seed):
    """Dual of the minimum-norm problem: fit c = (−s, 0 at intermediaries, b at customers) by
    least squares under u_child ≤ u_parent."""
    tree = random_tree(30, seed)
    c = isotonic_target(tree) / tree.unit
    w = cp.Variable(tree.n)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(w - c)), [w[1:] <= w[tree.parent[1:]]])
    _solve_quietly(problem)
    np.testing.assert_allclose(w.value, leximin_utilities(tree) / tree.unit, atol=1e-6)


def test_leximin_nash_and_egalitarian_coincide_whenever_defined():
    for seed in range(20):
        tree = random_tree(40, seed, shape="recursive")
        lex = price(tree, "leximin")
        egal = price(tree, "egalitarian")
        np.testing.assert_array_equal(lex.prices, egal.prices)
        if tree.surplus > 0:
            np.testing.assert_array_equal(lex.prices, price(tree, "nash").prices)
