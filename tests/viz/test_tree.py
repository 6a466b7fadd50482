"""The scenario-tree picture, checked at the data level (``fig.treemarket_data``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from treemarket.display import number
from treemarket.examples import example_path
from treemarket.io.ttp_file import load_ttp
from treemarket.testing import random_model
from treemarket.ttp import PriceRanges
from treemarket.viz.figure import new_figure
from treemarket.viz.tree import plot_tree

from .conftest import fake_solution


def _node_at(data, time, event):
    (rec,) = [r for r in data["nodes"] if r["time"] == time and r["event"] == sorted(event)]
    return rec


def test_weather_tree_draws_the_slides_picture(weather_solution):
    data = plot_tree(weather_solution).treemarket_data
    assert data["mode"] == "full" and not data["collapsed"] and data["note"] is None
    assert sorted(r["node"] for r in data["nodes"]) == list(range(7))
    assert data["summaries"] == []
    assert len(data["edges"]) == 6 and all(e["prob"] == pytest.approx(0.5) for e in data["edges"])
    assert all(e["text"] == "0.5" for e in data["edges"])
    root = _node_at(data, 0, ["FC", "CF", "CR", "RC"])
    assert root["buyers"] == ["C"] and "buys: C" in root["text"]
    assert root["values"] == {"A": 4.0, "B": 4.0, "C": 2.0}
    no_rain = _node_at(data, 1, ["FC", "CF"])
    assert len(no_rain["buyers"]) == 1 and no_rain["buyers"][0] in ("A", "B")
    rain = _node_at(data, 1, ["CR", "RC"])
    assert rain["buyers"] == [] and not rain["sale"] and "no sale" in rain["text"]
    assert _node_at(data, 2, ["CR"])["values"]["B"] == -4.0
    # every leaf is sold to the best buyer still there: welfare 2 + 3.5 + 6.5 = 12
    assert sum(len(_node_at(data, 2, [w])["buyers"]) for w in ("FC", "CF", "CR", "RC")) == 4


def test_tree_price_ranges_match_the_price_table(weather_solution):
    data = plot_tree(weather_solution).treemarket_data
    table = weather_solution.price_rows()
    for rec in data["nodes"]:
        row = table[rec["node"]]
        assert (rec["min"], rec["max"]) == (row["min"], row["max"])
        assert f"p ∈ [{number(row['min'], 4)}, {number(row['max'], 4)}]" in rec["text"]
    assert "p ∈ [0, 4]" in _node_at(data, 1, ["FC", "CF"])["text"]


def test_an_unbounded_range_is_drawn_as_any(weather_solution):
    high = weather_solution.ranges.high.copy()
    high[2] = np.inf
    sol = dataclasses.replace(
        weather_solution, ranges=PriceRanges(weather_solution.ranges.low.copy(), high)
    )
    rec = _node_at(plot_tree(sol).treemarket_data, 1, ["CR", "RC"])
    assert rec["max"] is None and "p ∈ [0, any]" in rec["text"]
    assert sol.price_rows()[2]["max"] is None


def test_labels_are_shown():
    from treemarket.ttp import solve

    sol = solve(load_ttp(example_path("weather-tree.yaml")))
    data = plot_tree(sol).treemarket_data
    rec = _node_at(data, 1, ["FC", "CF"])
    assert rec["label"] == "no rain" and rec["text"].startswith("t=1  no rain\n")


def test_a_500_node_tree_is_collapsed_and_says_so(big_solution):
    tree = big_solution.model.tree
    assert tree.n_nodes == 511
    fig = plot_tree(big_solution)
    data = fig.treemarket_data
    assert data["collapsed"] and data["mode"] == "subtrees"
    # times 0..4 in full (31 nodes) plus 16 subtree boxes fit in 60; times 0..5 would not
    assert data["depth_drawn"] == 4
    assert len(data["nodes"]) == 31 and len(data["summaries"]) == 16
    assert len(data["nodes"]) + len(data["summaries"]) <= 60
    assert "collapsed" in data["note"] and "511" in data["note"]
    assert any(data["note"] in t.get_text() for t in fig.texts)  # said in the figure itself
    assert len(data["nodes"]) + sum(s["n_nodes"] for s in data["summaries"]) == 511
    for s in data["summaries"]:
        root = s["root"]
        assert tree.time[root] == 4 and s["times"] == [5, 8] and s["n_nodes"] == 30
        assert s["nodes_with_sales"] == 16  # the 16 leaves below
        assert s["expected_sales"] == pytest.approx(1.0)  # one permit on every path below
        assert s["buyers"] == {"A": pytest.approx(1.0)}
        assert s["range_max"] is None and "any" in s["text"]
        below = [
            m for m in range(tree.n_nodes) if tree.time[m] > 4 and _ancestor(tree, m, 4) == root
        ]
        assert s["price_min"] == big_solution.prices.price[below].min()
        assert s["price_max"] == big_solution.prices.price[below].max()


def _ancestor(tree, node, time):
    while tree.time[node] > time:
        node = int(tree.parent[node])
    return node


def test_when_even_the_roots_do_not_fit_one_box_per_time(big_solution):
    data = plot_tree(big_solution, max_nodes=1).treemarket_data
    assert data["mode"] == "by_time" and data["nodes"] == []
    assert [s["n_nodes"] for s in data["summaries"]] == [2**t for t in range(9)]
    assert [s["expected_sales"] for s in data["summaries"]] == pytest.approx([0] * 8 + [1])


def test_many_buyers_show_who_buys_not_every_value(big_solution):
    model = random_model(np.random.default_rng(1), horizon=1, buyers=12, branching=2)
    y = np.zeros((12, 3))
    weakest = int(np.argmin(model.values[:, 0]))
    y[weakest, 0] = 1.0
    sol = fake_solution(model, y, np.zeros(3), None, None)
    root = plot_tree(sol).treemarket_data["nodes"][0]
    assert root["values_shown"] == [] and "v:" not in root["text"]
    assert len(root["values"]) == 12 and f"buys: {model.buyers[weakest]}" in root["text"]
    # without ranges the reported price is drawn, as in the price table
    row = sol.price_rows()[0]
    assert (root["min"], root["max"]) == (row["min"], row["max"]) == (0.0, row["max"])
    no_prices = plot_tree(dataclasses.replace(sol, prices=None)).treemarket_data["nodes"][0]
    assert no_prices["min"] is None and "p ∈" not in no_prices["text"]


def test_draws_into_a_given_axes_and_returns_its_figure(weather_solution, big_solution):
    fig = new_figure((9.0, 5.0))
    left, right = fig.subplots(1, 2)
    assert plot_tree(weather_solution, ax=left) is fig
    assert plot_tree(big_solution, ax=right) is fig
    assert fig.get_size_inches().tolist() == [9.0, 5.0] and fig.axes == [left, right]
    assert len(left.texts) == 7 + 6 and not fig.texts  # boxes and edge labels; no footer
    assert "collapsed" in right.get_xlabel()  # the note stays with its picture


def test_boxes_are_coloured_by_the_buyer_who_buys_with_a_legend():
    from treemarket.ttp import solve

    sol = solve(load_ttp(example_path("theme-park.yaml")))
    fig = plot_tree(sol)
    data = fig.treemarket_data
    mains = {r["main_buyer"] for r in data["nodes"] if r["sale"]}
    assert mains and None not in mains
    legend = fig.axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert set(mains) <= set(labels) and labels[-1] == "no sale"
    # a box's text has no wall of values when there are many buyer types
    assert all("v:" not in r["text"] for r in data["nodes"])
