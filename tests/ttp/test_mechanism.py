"""Truthful mechanisms: VCG and the dynamic pivot against closed forms, brute force and by-hand
numbers; periodic individual rationality; the command."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import typer
from scipy.optimize import linear_sum_assignment
from typer.testing import CliRunner

from treemarket.cli._common import run_guarded
from treemarket.cli.examples import example_path
from treemarket.cli.ttp_mechanism import mechanism_command
from treemarket.scenario import ScenarioTree
from treemarket.testing import brute_force_welfare
from treemarket.ttp import TTPModel, solve_exact
from treemarket.ttp.examples import weather
from treemarket.ttp.mechanism import (
    _state,
    compare_mechanisms,
    dynamic_pivot,
    vcg,
)

from .mechanism.instances import hand_example, small_models, without

HAS_CARRY_OVER = "carry_over" in {f.name for f in dataclasses.fields(TTPModel)}


# ---------------------------------------------------------------------------- by hand
def test_weather_vcg_by_hand():
    r = vcg(weather())
    # without A (or B) the best is 7; without C it is 10 (both wait for the forecast)
    assert r.welfare_without.tolist() == pytest.approx([7, 7, 10])
    assert r.values.tolist() == pytest.approx([5, 5, 2])
    assert r.payments.tolist() == pytest.approx([0, 0, 0]) and r.revenue == pytest.approx(0)
    assert r.payoffs.tolist() == pytest.approx([5, 5, 2]) and r.balance == "balanced"


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


# ------------------------------------------------------------------ closed forms
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
        tree, [f"b{k}" for k in range(n)], rng.integers(0, 3, size=horizon + 1),
        rng.integers(-2, 12, size=(n, 1)), rng.integers(1, 3, size=n),
        window=np.sort(rng.integers(0, horizon + 1, size=(n, 2)), axis=1),
        early_benefit=rng.integers(-3, 4, size=(n, horizon + 1)),
    )  # fmt: skip
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


# ---------------------------------------------------------------- properties
def _reference_pivot_payments(m: TTPModel, y: np.ndarray) -> np.ndarray:
    """p_i(n) = J_-i(n) − E[J_-i(c) | n] − Σ_{j≠i} v_j y_j(n) with every J by brute force."""
    tree = m.tree
    state = _state(m, y, m.counts)
    carry = getattr(m, "carry_over", False)
    j_without = np.empty(y.shape)
    for n in range(tree.n_nodes):
        for i in range(m.n_buyers):
            z = state.z_in[:, n].copy()
            z[i] = 0
            stock = {"stock": int(state.stock_in[n])} if carry else {}
            j_without[i, n] = brute_force_welfare(m.submodel(n, z, **stock)[0])
    mean = np.zeros(y.shape)
    if tree.horizon:
        mean[:, : tree.level_offsets[-2]] = tree.expectation_of_children(j_without)
    flow = np.einsum("in,in->n", m.values, y)
    return j_without - mean - (flow - m.values * y)


@pytest.mark.parametrize("extension", ["paper", "windows", "carry_over"])
def test_pivot_against_brute_force_and_vcg(extension):
    extra = {"windows": True, "early_benefit": 1.0} if extension == "windows" else {}
    if extension == "carry_over" and not HAS_CARRY_OVER:
        pytest.skip("the model has no carry-over")
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


@pytest.mark.slow
def test_properties_at_scale():
    for m in small_models(80, seed0=300, counts=(1, 3), windows=True, early_benefit=1.0):
        sol = solve_exact(m, price_ranges=False)
        v, p = vcg(m, sol), dynamic_pivot(m, sol)
        assert p.payments == pytest.approx(v.payments, abs=1e-8)
        assert p.individually_rational() and p.node_payments.min() >= -1e-9


# ------------------------------------------------------------------------ command
def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(mechanism_command)
    return app


def test_command_vcg_json_has_the_spec_keys():
    result = CliRunner().invoke(_app(), [str(example_path("weather.yaml")), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"kind", "welfare", "payments", "payoffs", "revenue"} <= set(data)
    assert data["kind"] == "vcg" and data["welfare"] == pytest.approx(12)
    assert data["payoffs"] == pytest.approx({"A": 5, "B": 5, "C": 2})
    assert set(data["comparison"]["rows"]) == {"vcg", "pivot", "low prices", "high prices"}


def test_command_pivot_json_and_output(tmp_path):
    model_file = tmp_path / "hand.json"
    model_file.write_text(json.dumps({
        "model": "ttp", "buyers": ["A", "B", "C"], "supply": [1, 1],
        "scenarios": {"up": {"probability": 0.5, "values": {"A": 10, "B": 8, "C": 3.5}},
                      "down": {"probability": 0.5, "values": {"A": -6, "B": -2, "C": 3.5}}},
        "information": [[["up", "down"]], [["up"], ["down"]]],
    }))  # fmt: skip
    target = tmp_path / "out" / "pivot.json"
    args = [str(model_file), "--kind", "pivot", "--output", str(target)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    data = json.loads(target.read_text())
    assert data["kind"] == "pivot" and data["revenue"] == pytest.approx(4.5)
    assert data["payments"] == pytest.approx({"A": 2.75, "B": 1.75, "C": 0})
    paths = {row["scenario"]: row for row in data["paths"]}
    assert paths["down"]["payments"]["A"] == pytest.approx([1, 0])
    assert paths["down"]["payoffs"]["A"] == pytest.approx(-1)
    assert data["individual_rationality"]["periodic"] is True
    assert [p.name for p in target.parent.iterdir()] == ["pivot.json"]


def test_command_readable_report():
    result = CliRunner().invoke(_app(), [str(example_path("fractional.yaml")), "--kind", "pivot"])
    assert result.exit_code == 0, result.output
    for text in ("dynamic pivot", "periodic individual rationality", "low prices", "revenue"):
        assert text in result.output
    assert "no prices support the integer optimum" in result.output  # the LP's price rows


def test_command_bad_input_exits_2(tmp_path, capsys):
    result = CliRunner().invoke(_app(), [str(example_path("weather.yaml")), "--kind", "gvc"])
    assert result.exit_code == 2 and "vcg, pivot" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: ttp\nbuyers: [A]\nsupply: [1]\n")
    assert run_guarded(_app(), [str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml" in err[0]
