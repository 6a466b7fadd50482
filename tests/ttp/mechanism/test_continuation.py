"""J(n, z, s) against brute force, the state walk against each node's path, the closed-form
single market."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from treemarket.testing import brute_force_welfare
from treemarket.ttp import solve_exact
from treemarket.ttp.mechanism import ContinuationValues
from treemarket.ttp.mechanism.continuation import leaf_assignment, node_state

from .instances import small_models


def _models(carry_over: bool):
    for m in small_models(10, seed0=500, counts=(1, 3), windows=True, early_benefit=1.0):
        yield dataclasses.replace(m, carry_over=True, _cache={}) if carry_over else m


@pytest.mark.parametrize("carry_over", [False, True])
def test_state_walk_along_each_path(carry_over):
    for m in _models(carry_over):
        y = np.rint(solve_exact(m, price_ranges=False).y).astype(np.int64)
        state = node_state(m, y, m.counts)
        for n in range(m.tree.n_nodes):
            above = m.tree.path_to(n)[:-1]  # the strict ancestors of n
            assert state.z_in[:, n].tolist() == (m.counts - y[:, above].sum(axis=1)).tolist()
            sold = y[:, above].sum(axis=0)
            carried = int((m.node_supply[above] - sold).sum()) if carry_over else 0
            assert state.stock_in[n] == carried


@pytest.mark.parametrize("carry_over", [False, True])
def test_continuation_values_against_brute_force(carry_over):
    for m in _models(carry_over):
        J = ContinuationValues(m)
        y = solve_exact(m, price_ranges=False).y
        state = node_state(m, y, m.counts)
        assert J.root(m.counts) == pytest.approx(brute_force_welfare(m))
        for n in range(m.tree.n_nodes):
            stock = int(state.stock_in[n])
            for i in range(-1, m.n_buyers):  # everyone, then one unit of each buyer less
                z = state.z_in[:, n].copy()
                if i >= 0:
                    z[i] = max(z[i] - 1, 0)
                reference = brute_force_welfare(m.submodel(n, z, stock)[0])
                assert J(n, z, stock) == pytest.approx(reference, abs=1e-9)


def test_single_market_serves_the_highest_positive_units_ties_by_buyer_order():
    values = np.array([3.0, 5.0, 5.0, -1.0, 2.0, 4.0])
    present = np.array([True, True, True, True, True, False])
    ones = np.ones(6, dtype=np.int64)
    assert leaf_assignment(values, present, ones, 2).tolist() == [0, 1, 1, 0, 0, 0]
    assert leaf_assignment(values, present, ones, 3).tolist() == [1, 1, 1, 0, 0, 0]
    assert leaf_assignment(values, present, ones, 9).tolist() == [1, 1, 1, 0, 1, 0]
    two = np.array([1, 2, 1, 1, 1, 1])
    assert leaf_assignment(values, present, two, 2).tolist() == [0, 2, 0, 0, 0, 0]
    assert leaf_assignment(values, present, two, 0).tolist() == [0, 0, 0, 0, 0, 0]
    gone = np.array([1, 0, 1, 1, 1, 1])
    assert leaf_assignment(values, present, gone, 2).tolist() == [1, 0, 1, 0, 0, 0]
    assert leaf_assignment(values, present, two, 2).dtype == np.int64
