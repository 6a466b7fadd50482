"""Static VCG: the weather example by hand; types and units against brute force, and the
identities VCG and the pivot share."""

from __future__ import annotations

import pytest

from treemarket.testing import brute_force_welfare
from treemarket.ttp import solve_exact
from treemarket.ttp.examples import weather
from treemarket.ttp.mechanism import dynamic_pivot, vcg

from .instances import small_models, without


def test_weather_vcg_by_hand():
    r = vcg(weather())
    # without A (or B) the best is 7; without C it is 10 (both wait for the forecast)
    assert r.welfare_without.tolist() == pytest.approx([7, 7, 10])
    assert r.values.tolist() == pytest.approx([5, 5, 2])
    assert r.payments.tolist() == pytest.approx([0, 0, 0]) and r.revenue == pytest.approx(0)
    assert r.payoffs.tolist() == pytest.approx([5, 5, 2]) and r.balance == "balanced"


def test_types_units_and_identities():
    for m in small_models(20, seed0=40, counts=(1, 3)):
        sol = solve_exact(m, price_ranges=False)
        v, p = vcg(m, sol), dynamic_pivot(m, sol)
        scale = 1e-9 * max(1.0, abs(v.welfare))
        for i in range(m.n_buyers):  # one unit removed, checked by brute force
            unit = v.welfare - brute_force_welfare(without(m, i))
            assert v.per_unit_payoffs[i] == pytest.approx(unit, abs=1e-9)
            assert v.payoffs[i] == pytest.approx(m.counts[i] * unit, abs=1e-9)
        assert v.per_unit_payments * m.counts == pytest.approx(v.payments)
        assert v.payments.min() >= -scale and v.payoffs.min() >= -scale  # IR, no deficit
        assert p.payments == pytest.approx(v.payments, abs=1e-9)
        assert v.payoffs.sum() + v.revenue == pytest.approx(v.welfare)
        assert p.node_payments.min() >= -scale  # flow payments are never negative
        assert p.individually_rational()  # every unit in the market expects ≥ 0 from there on
        assert p.path_payoffs @ m.tree.prob[m.tree.leaves] == pytest.approx(p.payoffs)
