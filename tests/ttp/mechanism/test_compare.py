"""VCG and the pivot against the markets' supporting prices: the uniform-price auction of one
market, the assignment game of one scenario (Hungarian method), prices never beat VCG payoffs,
the comparison's rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from treemarket.scenario import ScenarioTree
from treemarket.ttp import TTPModel, solve_exact
from treemarket.ttp.examples import weather
from treemarket.ttp.mechanism import compare_mechanisms, dynamic_pivot, vcg

from .instances import small_models


@pytest.mark.parametrize("seed", range(12))
def test_one_market_is_the_uniform_price_auction(seed):
    rng = np.random.default_rng(seed)
    n, mu = int(rng.integers(1, 6)), int(rng.integers(0, 5))
    values = rng.integers(-3, 10, size=n).astype(float)
    counts = rng.integers(1, 4, size=n)
    tree = ScenarioTree.from_partitions([[["s"]]], {"s": 1.0})
    m = TTPModel.from_arrays(tree, [f"b{k}" for k in range(n)], [mu], values[:, None], counts)
    units = np.sort(np.repeat(values, counts))[::-1]
    price = max(0.0, units[mu]) if mu < units.size else 0.0  # the highest losing unit value
    sol = solve_exact(m, price_ranges=False)
    won = sol.y[:, 0]
    v, p = vcg(m, sol), dynamic_pivot(m, sol)
    assert v.payments.tolist() == pytest.approx((won * price).tolist(), abs=1e-9)
    assert p.payments.tolist() == pytest.approx((won * price).tolist(), abs=1e-9)
    low = sol.price_system_report("low")
    assert low["prices"][0]["price"] == pytest.approx(price, abs=1e-7)
    assert low["revenue"] == pytest.approx(v.revenue, abs=1e-7)
    assert list(low["payoffs"].values()) == pytest.approx(v.payoffs.tolist(), abs=1e-7)


def _assignment_game(m: TTPModel) -> tuple[float, np.ndarray]:
    """W* and W*_-i (one unit removed) of a one-scenario model as an assignment game solved by
    the Hungarian method: rows are buyer units, columns permits (one per unit of μ(t))."""
    t = np.repeat(np.arange(m.horizon + 1), m.supply)
    window = m.window if m.window is not None else np.array([[0, m.horizon]] * m.n_buyers)
    bonus = m.early_benefit if m.early_benefit is not None else np.zeros((m.n_buyers, t.size))
    value = m.scenario_values[:, 0][:, None] + bonus[:, t]
    inside = (window[:, :1] <= t) & (t <= window[:, 1:])
    gain = np.where(inside, np.maximum(value, 0.0), 0.0)  # unassigned is worth 0

    def best(counts: np.ndarray) -> float:
        rows = np.repeat(gain, counts, axis=0)
        if rows.size == 0:
            return 0.0
        r, c = linear_sum_assignment(rows, maximize=True)
        return float(rows[r, c].sum())

    without_one = [
        best(m.counts - np.eye(m.n_buyers, dtype=np.int64)[i]) for i in range(m.n_buyers)
    ]
    return best(m.counts), np.array(without_one)


@pytest.mark.parametrize("seed", range(10))
def test_one_scenario_is_the_assignment_game(seed):
    rng = np.random.default_rng(100 + seed)
    n, horizon = int(rng.integers(1, 5)), int(rng.integers(0, 4))
    tree = ScenarioTree.from_partitions([[["s"]]] * (horizon + 1), {"s": 1.0})
    m = TTPModel.from_arrays(
        tree,
        [f"b{k}" for k in range(n)],
        rng.integers(0, 3, size=horizon + 1),
        rng.integers(-2, 12, size=(n, 1)),
        rng.integers(1, 3, size=n),
        window=np.sort(rng.integers(0, horizon + 1, size=(n, 2)), axis=1),
        early_benefit=rng.integers(-3, 4, size=(n, horizon + 1)),
    )
    welfare, welfare_without = _assignment_game(m)
    sol = solve_exact(m, price_ranges=False)
    v, p = vcg(m, sol), dynamic_pivot(m, sol)
    assert v.welfare == pytest.approx(welfare)
    assert v.welfare_without.tolist() == pytest.approx(welfare_without.tolist())
    vcg_payoffs = m.counts * (welfare - welfare_without)
    assert v.payoffs.tolist() == pytest.approx(vcg_payoffs.tolist(), abs=1e-9)
    assert p.payoffs.tolist() == pytest.approx(vcg_payoffs.tolist(), abs=1e-9)
    # deterministic: the realised payoff of the single path is the expected one
    assert p.path_payoffs[:, 0].tolist() == pytest.approx(vcg_payoffs.tolist(), abs=1e-9)
    # the lowest Walrasian prices of an assignment game give the VCG payoffs (Leonard 1983)
    assert sol.supported.proven
    low = sol.price_system_report("low")["payoffs"]
    assert list(low.values()) == pytest.approx(vcg_payoffs.tolist(), abs=1e-7)


def test_equilibrium_prices_never_beat_vcg_payoffs():
    """Each buyer's payoff at supporting prices is ψ_i ≤ W* − W*_-i (the duals restricted to
    the others stay feasible without her): prices raise at least VCG's revenue."""
    checked = 0
    for m in small_models(25, seed0=70, buyers=3):
        sol = solve_exact(m, price_ranges=False)
        if not sol.supported.proven:
            continue
        comparison = compare_mechanisms(m, sol, pivot=False)
        vcg_row = comparison.rows["vcg"]
        for name in ("low prices", "high prices"):
            row = comparison.rows[name]
            for b in m.buyers:
                assert row["payoffs"][b] <= vcg_row["payoffs"][b] + 1e-7
            assert row["revenue"] >= vcg_row["revenue"] - 1e-7
        checked += 1
    assert checked >= 15


def test_comparison_rows_on_the_weather_example():
    c = compare_mechanisms(weather())
    assert list(c.rows) == ["vcg", "pivot", "low prices", "high prices"]
    assert c.rows["vcg"]["revenue"] == pytest.approx(0)
    assert c.rows["pivot"]["payoffs"] == pytest.approx(c.rows["vcg"]["payoffs"])
    assert c.rows["high prices"]["revenue"] > c.rows["low prices"]["revenue"]
