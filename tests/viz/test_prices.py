"""The price fan, checked at the data level (``fig.treemarket_data``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from treemarket.ttp import TTPModel
from treemarket.viz.figure import new_figure
from treemarket.viz.prices import plot_price_fan, weighted_quantiles

from .conftest import fake_solution


def test_fan_quantiles_by_hand():
    probs = {"FC": 0.1, "CF": 0.2, "CR": 0.3, "RC": 0.4}
    model = TTPModel.from_scenarios(
        ["A"],
        [1, 1, 1],
        {w: (p, {"A": 1.0}) for w, p in probs.items()},
        [[list(probs)], [["FC", "CF"], ["CR", "RC"]], [[w] for w in probs]],
    )
    tree = model.tree
    by_event = {tuple(tree.event(n)): n for n in range(tree.n_nodes)}
    price = np.zeros(tree.n_nodes)
    chosen = {
        ("CF", "CR", "FC", "RC"): 0.5,
        ("CF", "FC"): 5.0,
        ("CR", "RC"): 1.0,
        ("FC",): 4.0,
        ("CF",): 1.0,
        ("CR",): 3.0,
        ("RC",): 2.0,
    }
    for event, p in chosen.items():
        price[by_event[event]] = p
    sol = fake_solution(model, np.zeros((1, 7)), price, price, price + 1)
    data = plot_price_fan(sol).treemarket_data
    # t = 2: sorted prices 1 (0.2), 2 (0.4), 3 (0.3), 4 (0.1): cumulative 0.2, 0.6, 0.9, 1.0
    assert [data["quantiles"][k][2] for k in ("10", "25", "50", "75", "90")] == [1, 2, 2, 3, 3]
    # t = 1: 1 with probability 0.7, 5 with 0.3
    assert data["median"] == [0.5, 1.0, 2.0]
    assert data["quantiles"]["75"][1] == 5.0 and data["quantiles"]["10"][1] == 1.0
    assert data["mean"] == pytest.approx([0.5, 0.7 + 1.5, 0.4 + 0.2 + 0.9 + 0.8])
    assert sorted(map(tuple, data["paths"])) == sorted(
        [(0.5, 5.0, 4.0), (0.5, 5.0, 1.0), (0.5, 1.0, 3.0), (0.5, 1.0, 2.0)]
    )
    assert data["ranges"][2]["high"] == pytest.approx([p + 1 for p in price[tree.leaves]])


def test_fan_of_the_weather_solution_draws_its_ranges(weather_solution):
    data = plot_price_fan(weather_solution).treemarket_data
    tree = weather_solution.model.tree
    for t in range(3):
        level = tree.level(t)
        assert data["ranges"][t]["low"] == weather_solution.ranges.low[level].tolist()
        assert data["ranges"][t]["high"] == weather_solution.ranges.high[level].tolist()
    no_ranges = dataclasses.replace(weather_solution, ranges=None)
    assert plot_price_fan(no_ranges).treemarket_data["ranges"] is None


def test_fan_of_a_big_tree_has_no_paths_but_bands(big_solution):
    data = plot_price_fan(big_solution).treemarket_data
    assert data["paths"] is None and len(data["median"]) == 9
    assert data["ranges"][8]["high"] == [None] * 256


def test_weighted_quantiles_are_the_lower_ones():
    values, weights = [3.0, 1.0, 2.0], [0.2, 0.3, 0.5]
    assert weighted_quantiles(values, weights, [0.3, 0.31, 0.8, 0.81]).tolist() == [1, 2, 2, 3]


def test_a_solution_without_prices_has_no_fan(weather_solution):
    with pytest.raises(ValueError, match="no prices"):
        plot_price_fan(dataclasses.replace(weather_solution, prices=None))


def test_draws_into_a_given_axes_and_returns_its_figure(weather_solution):
    fig = new_figure((6.0, 4.0))
    ax = fig.add_subplot()
    assert plot_price_fan(weather_solution, ax=ax) is fig
    assert fig.axes == [ax] and fig.get_size_inches().tolist() == [6.0, 4.0]
    assert ax.get_ylabel() == "price p(t, ω)" and len(ax.lines) >= 2 + 4  # median, mean, paths
