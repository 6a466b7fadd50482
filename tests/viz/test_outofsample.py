"""The size curve: what is drawn is what the evaluations say."""

from __future__ import annotations

import numpy as np

from treemarket.scenario import ScenarioTree
from treemarket.scenario.fit import PathData
from treemarket.ttp.model import TTPModel
from treemarket.ttp.outofsample import size_curve
from treemarket.viz.figure import new_figure
from treemarket.viz.outofsample import plot_size_curve


def _points():
    rng = np.random.default_rng(0)
    paths = np.cumsum(rng.normal(size=(300, 3)), axis=1)
    test = np.cumsum(rng.normal(size=(100, 3)), axis=1)
    data, held = PathData.from_array(paths), PathData.from_array(test)
    base = TTPModel.from_arrays(
        ScenarioTree.from_paths([[0, 0, 0]])[0],
        ["a", "b"],
        [1, 1, 0],
        [[0.0], [0.0]],
    )

    def values(x: np.ndarray) -> np.ndarray:
        return np.stack([5 + x[:, -1], 5 - x[:, -1]], axis=1)

    return size_curve(base, data, values(paths), held, values(test), [[2, 2], [3, 2], [4, 3]])


def test_the_curve_draws_the_optima_and_the_held_out_welfare() -> None:
    points = _points()
    fig = plot_size_curve(points)
    data = fig.treemarket_data
    assert data["kind"] == "size_curve"
    assert data["nodes"] == sorted(p.nodes for p in points)
    assert data["branching"] == ["2×2", "3×2", "4×3"]
    assert data["in_sample"] == [p.optimum for p in points]
    assert data["out_of_sample"]["tree"] == [
        p.out_of_sample.policies["tree"].welfare for p in points
    ]
    assert set(data["out_of_sample"]) == {"tree", "myopic"}


def test_the_curve_draws_into_a_given_axes() -> None:
    fig = new_figure((4, 3))
    ax = fig.add_subplot()
    assert plot_size_curve(_points(), policies=("fcfs",), ax=ax) is fig
    assert len(ax.lines) >= 2
