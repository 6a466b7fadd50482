"""The general solvers (:mod:`treemarket.intermediation.general`): the LP sequence and the conic
Nash program, against brute force, independent LPs, the water-filling and the KKT conditions."""

import numpy as np
import pytest
from hypothesis import given, settings

from treemarket.errors import SolverError
from treemarket.intermediation import (
    IntermediationTree,
    egalitarian_value,
    example_tree,
    forced_zero,
    general,
    leximin_utilities,
    nash_cvxpy,
    nash_multipliers,
    price,
    profitability,
)
from treemarket.intermediation.general import (
    edge_matrix,
    egalitarian_lp,
    leximin_lp,
    nash_program,
)
from treemarket.intermediation.generate import random_tree
from treemarket.intermediation.waterfill import isotonic_target
from treemarket.solvers.conic import ConicSolution, solve_nash

from .oracles import (
    leximin_bruteforce,
    max_sum_of_smallest,
    nash_log,
    subtree_nodes,
    utilities_by_definition,
)
from .strategies import trees


@settings(max_examples=40, deadline=None)
@given(trees(max_nodes=15))
def test_the_edge_matrix_gives_the_utilities_of_definition_2(tree):
    rng = np.random.default_rng(tree.n)
    p = np.r_[0.0, rng.random(tree.n - 1) * 10]
    u = edge_matrix(tree) @ p[1:] + isotonic_target(tree)
    np.testing.assert_allclose(u, utilities_by_definition(tree, list(p)), atol=1e-9 * tree.scale)


@settings(max_examples=20, deadline=None)
@given(trees(max_nodes=9))
def test_the_lp_sequence_equals_brute_force(tree):
    np.testing.assert_allclose(leximin_lp(tree), leximin_bruteforce(tree), atol=1e-7 * tree.unit)


@settings(max_examples=25, deadline=None)
@given(trees(max_nodes=14))
def test_leximin_equals_the_lp_sequence(tree):
    np.testing.assert_allclose(
        leximin_utilities(tree), leximin_utilities(tree, "lp"), atol=1e-7 * tree.unit
    )


@settings(max_examples=25, deadline=None)
@given(trees(max_nodes=12))
def test_one_lp_reaches_the_egalitarian_value(tree):
    p = egalitarian_lp(tree)
    assert p.min() >= 0
    u = utilities_by_definition(tree, list(p))
    assert min(u) == pytest.approx(egalitarian_value(tree), abs=1e-7 * tree.unit)
    assert min(u) == pytest.approx(max_sum_of_smallest(tree, 1), abs=1e-7 * tree.unit)


@settings(max_examples=40, deadline=None)
@given(trees(max_nodes=15))
def test_forced_zero_is_a_subtree_of_zero_limits_or_a_zero_surplus(tree):
    zero = forced_zero(tree)
    subs = subtree_nodes(tree)
    leaves = [i for i in range(tree.n) if tree.size[i] == 1]
    tied = abs(tree.total_limit - tree.seller_limit) <= 1e-12 * tree.scale
    for j in range(tree.n):
        nothing_below = all(tree.limit[i] == 0 for i in subs[j] if i in leaves)
        assert zero[j] == (tied or (j != 0 and nothing_below)), j


def test_customers_with_zero_limit_are_forced_to_zero_utility():
    tree = random_tree(12, 5, limits="integer")
    b = tree.limit.copy()
    leaves = np.flatnonzero(tree.is_leaf)
    b[leaves[:2]] = 0.0
    b[0] = 1.0
    tree = IntermediationTree.from_arrays(tree.parent, b)
    zero = forced_zero(tree)
    assert zero[leaves[:2]].all()
    u = price(tree, "nash").utilities
    np.testing.assert_allclose(u[zero], 0, atol=1e-12)
    assert u[~zero].min() > 0


@settings(max_examples=12, deadline=None)
@given(trees(max_nodes=9, profitable=True))
def test_nash_by_the_conic_solver_agrees_and_nothing_beats_it(tree):
    fast = price(tree, "nash")
    raw, method = nash_cvxpy(tree, polish=False)
    u_raw = tree.utilities(raw)
    np.testing.assert_allclose(u_raw, fast.utilities, atol=1e-3 * tree.unit)  # interior point
    zero = forced_zero(tree)
    if zero.any():  # Nash welfare is 0 for all prices; forced nodes get exactly 0
        np.testing.assert_allclose(fast.utilities[zero], 0, atol=1e-9 * tree.unit)
        assert method == "forced" if zero.all() else method.startswith("cvxpy-")
        return
    assert method.startswith("cvxpy-")
    best = nash_log(fast.utilities)
    assert best >= nash_log(u_raw) - 1e-9
    for other in (price(tree, "egalitarian", "lp"), price(tree, "leximin")):
        assert best >= nash_log(other.utilities) - 1e-9
    witness = profitability(tree).witness_utilities
    assert witness is not None and best >= nash_log(witness) - 1e-9
    # KKT of max Σ log u over p ≥ 0: μ_j = 1/u_j − 1/u_parent ≥ 0 and μ_j p_j = 0
    # (scaled by u_j: μ_j u_j = 1 − u_j/u_parent is free of the utilities' magnitude)
    scaled = nash_multipliers(tree, fast.utilities) * fast.utilities
    assert scaled[1:].min() >= -1e-9
    assert np.abs(scaled * fast.prices).max() <= 1e-9 * tree.unit
    polished = price(tree, "nash", "cvxpy")
    np.testing.assert_allclose(polished.utilities, fast.utilities, atol=1e-9 * tree.unit)


@pytest.mark.parametrize(
    "tree",
    [example_tree(b=8, s=2), random_tree(25, 5, shape="network"), random_tree(30, 2)],
    ids=["fig-1a-open", "network", "recursive"],
)
def test_the_duals_of_the_nash_program_are_the_kkt_multipliers(tree):
    """The conic solver's dual of ``p_j ≥ 0`` is ``d(Σ log u)/dp_j = −μ_j`` (in units of
    ``tree.unit``), with ``μ`` from the water-filling's utilities; ``u ≥ 0`` does not bind."""
    assert not forced_zero(tree).any()
    sol = solve_nash(nash_program(tree, np.arange(tree.n)))
    assert sol.ok
    u = leximin_utilities(tree)
    mu = nash_multipliers(tree, u)
    assert mu.max() > 0  # some edge priced 0 binds
    expected = -mu[1:] * tree.unit
    atol = 1e-4 * (1 + np.abs(expected).max())  # interior-point duals: about 1e-5 relative
    np.testing.assert_allclose(sol.col_duals, expected, rtol=1e-4, atol=atol)
    np.testing.assert_allclose(sol.row_duals, 0, atol=atol)
    assert sol.objective == pytest.approx(np.log(u / tree.unit).sum(), abs=1e-7)


def test_nash_through_geo_mean_and_through_the_soc_tree_agree():
    tree = random_tree(40, 3, shape="network")
    a, _ = nash_cvxpy(tree, "geo_mean", polish=False)
    b, _ = nash_cvxpy(tree, "soc", polish=False)
    np.testing.assert_allclose(tree.utilities(a), tree.utilities(b), atol=1e-4 * tree.unit)
    np.testing.assert_allclose(tree.utilities(b), leximin_utilities(tree), atol=1e-4 * tree.unit)


def test_a_conic_solve_without_an_optimum_is_a_solver_error(monkeypatch):
    monkeypatch.setattr(general, "solve_nash", lambda *a, **k: ConicSolution("limit"))
    tree = random_tree(10, 1)
    with pytest.raises(SolverError, match="nash: Clarabel returned status limit"):
        nash_cvxpy(tree)
    with pytest.raises(SolverError):
        price(tree, "nash", "cvxpy")
