"""The solution owns the priced assignment, its price systems and three-valued facts."""

import numpy as np
import pytest

from treemarket.examples import example_path
from treemarket.fact import Fact
from treemarket.io.ttp_file import load_ttp
from treemarket.ttp import solve, solve_exact, solve_market
from treemarket.ttp.examples import weather


def test_a_supported_optimum_prices_the_integer_assignment():
    sol = solve_exact(weather())
    assert sol.supported is Fact.PROVEN and sol.lp_integral is Fact.PROVEN
    assert sol.priced_y is sol.y and sol.prices_certified
    data = sol.to_json()
    assert data["supported"] is True and data["lp_integral"] is True
    assert data["lp_bound"] == 12.0 and "dual_bound" not in data


def test_a_fractional_lp_prices_the_lp_optimum_and_refutes_support():
    sol = solve_exact(load_ttp(example_path("fractional.yaml")))
    assert sol.supported is Fact.REFUTED and sol.lp_integral is Fact.REFUTED
    assert sol.priced_y is sol.y_lp
    sold = [row["sold"] for row in sol.price_rows()]
    assert np.allclose(sold, sol.y_lp.sum(axis=0))
    assert sol.to_json()["supported"] is False and sol.to_json()["lp_integral"] is False


def test_the_market_solver_proves_nothing_it_did_not_compute():
    sol = solve_market(weather())
    assert sol.supported is Fact.UNKNOWN and sol.lp_integral is Fact.UNKNOWN
    assert not sol.prices_certified
    data = sol.to_json()
    assert data["supported"] is None and data["lp_integral"] is None
    assert data["lp_bound"] is None and data["dual_bound"] == data["upper_bound"]
    # uncertified prices have a single system: no "high revenue" one is made up
    assert sol.price_system("high") is sol.prices


def test_a_fact_is_not_a_bool():
    with pytest.raises(TypeError, match="not a bool"):
        bool(Fact.UNKNOWN)
    assert Fact.of(None).to_json() is None and str(Fact.REFUTED) == "refuted"


def test_reprs_are_short_and_the_notebook_view_has_the_certificate_and_the_tree():
    model = weather()
    sol = solve(model)
    assert len(repr(model)) < 120 and "7 nodes" in repr(model)
    assert len(repr(sol)) < 120 and "welfare 12" in repr(sol)
    page = sol._repr_html_()
    assert "expected welfare [P0]" in page and "proven" in page
    assert page.count("<svg") == 1 and "<table" in page
    assert len(page) < 100_000


def test_tables_are_dataframes_named_by_node():
    sol = solve(load_ttp(example_path("weather-tree.yaml")))
    purchases = sol.assignment()
    assert list(purchases.columns[:4]) == ["buyer", "time", "node", "node_id"]
    assert "no rain → FC" in set(purchases["node"])
    table = sol.price_table()
    assert len(table) == sol.model.tree.n_nodes
    assert table["max"].dtype == float
    # the JSON rows and the DataFrame agree
    rows = sol.price_rows()
    assert [r["node"] for r in rows] == table["node"].tolist()
