"""The dynamic pivot mechanism: payments worked out by hand, every flow payment against brute
force continuation values, expected payments equal VCG's, periodic individual rationality."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from treemarket.testing import brute_force_welfare
from treemarket.ttp import TTPModel, solve_exact
from treemarket.ttp.mechanism import dynamic_pivot, vcg
from treemarket.ttp.mechanism.continuation import node_state

from .instances import hand_example, small_models, without


def test_hand_example_vcg_and_pivot_payments():
    m = hand_example()
    v = vcg(m)
    # W* = 9.75 (B at the root, A after up, C after down); W*_-i = 7.5, 8.5, 8
    assert v.welfare == pytest.approx(9.75)
    assert v.welfare_without.tolist() == pytest.approx([7.5, 8.5, 8])
    assert v.payments.tolist() == pytest.approx([2.75, 1.75, 0])
    assert v.revenue == pytest.approx(4.5) and v.balance == "surplus"
    p = dynamic_pivot(m)
    assert m.tree.events()[1:] == [["up"], ["down"]]
    # A pays 7.5 - E[J_-A after B bought] 3.5 - F 3 = 1 while waiting at the root, then 3.5 when
    # she buys after "up" (C's value); B pays 8.5 - 6.75 = 1.75 when buying at the root
    assert p.node_payments == pytest.approx(np.array([[1, 3.5, 0], [1.75, 0, 0], [0, 0, 0]]))
    assert p.unit_wait[0, 0] == pytest.approx(1) and p.unit_buy[0, 1] == pytest.approx(3.5)
    assert p.payments.tolist() == pytest.approx(v.payments.tolist())
    assert p.continuation[0].tolist() == pytest.approx([2.25, 6.5, 0])
    assert np.isnan(p.continuation[1, 1:]).all()  # B has left after the root
    assert p.path_payoffs == pytest.approx(np.array([[5.5, -1], [1.25, 1.25], [0, 3.5]]))
    assert p.individually_rational()
    assert p.negative_paths().tolist() == pytest.approx([0.5, 0, 0])
    assert p.path_payments[0] == pytest.approx(np.array([[1, 3.5], [1, 0]]))


def _reference_pivot_payments(m: TTPModel, y: np.ndarray) -> np.ndarray:
    """p_i(n) = J_-i(n) − E[J_-i(c) | n] − Σ_{j≠i} v_j y_j(n) with every J by brute force."""
    tree = m.tree
    state = node_state(m, y, m.counts)
    j_without = np.empty(y.shape)
    for n in range(tree.n_nodes):
        for i in range(m.n_buyers):
            z = state.z_in[:, n].copy()
            z[i] = 0
            stock = {"stock": int(state.stock_in[n])} if m.carry_over else {}
            j_without[i, n] = brute_force_welfare(m.submodel(n, z, **stock)[0])
    mean = np.zeros(y.shape)
    if tree.horizon:
        mean[:, : tree.level_offsets[-2]] = tree.expectation_of_children(j_without)
    flow = np.einsum("in,in->n", m.values, y)
    return j_without - mean - (flow - m.values * y)


@pytest.mark.parametrize("extension", ["paper", "windows", "carry_over"])
def test_pivot_against_brute_force_and_vcg(extension):
    extra = {"windows": True, "early_benefit": 1.0} if extension == "windows" else {}
    for m in small_models(8, seed0=7, **extra):
        if extension == "carry_over":
            m = dataclasses.replace(m, carry_over=True, _cache={})
        sol = solve_exact(m, price_ranges=False)
        v, p = vcg(m, sol), dynamic_pivot(m, sol)
        ref = _reference_pivot_payments(m, sol.y)
        assert p.node_payments == pytest.approx(ref, abs=1e-9)
        for i in range(m.n_buyers):
            assert v.welfare_without[i] == pytest.approx(brute_force_welfare(without(m, i)))
        assert p.payments.tolist() == pytest.approx(v.payments.tolist(), abs=1e-9)


@pytest.mark.slow
def test_properties_at_scale():
    for m in small_models(80, seed0=300, counts=(1, 3), windows=True, early_benefit=1.0):
        sol = solve_exact(m, price_ranges=False)
        v, p = vcg(m, sol), dynamic_pivot(m, sol)
        assert p.payments == pytest.approx(v.payments, abs=1e-8)
        assert p.individually_rational() and p.node_payments.min() >= -1e-9
