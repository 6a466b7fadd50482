"""The study charts, checked at the data level (``fig.treemarket_data``) and on the axes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from treemarket.viz.figure import new_figure
from treemarket.viz.study import Line, Panel, axis_values, label, plot_study

NAN = math.nan


def _panels() -> list[Panel]:
    market = Line("market", mean=[1.0, 2.0, 4.0], low=[0.5, NAN, 3.0], high=[1.5, NAN, 5.0])
    myopic = Line("myopic", mean=[1.0, 1.5, 3.0], low=[NAN] * 3, high=[NAN] * 3)
    return [
        Panel("accuracy = 0.5", [3, 6, 12], [market, myopic]),
        Panel("accuracy = 1", [3, 6, 12], [myopic, market]),
    ]


def test_one_panel_per_value_with_a_line_and_a_band_per_member():
    fig = plot_study(_panels(), xlabel="buyers", ylabel="simulate.welfare", title="s: welfare")
    data = fig.treemarket_data
    assert data["kind"] == "study" and [p["title"] for p in data["panels"]] == [
        "accuracy = 0.5",
        "accuracy = 1",
    ]
    assert data["panels"][0]["lines"]["market"]["mean"] == [1.0, 2.0, 4.0]
    left, right = fig.axes
    assert fig.get_size_inches().tolist() == pytest.approx([8.4, 3.4])
    assert left.get_shared_y_axes().joined(left, right)
    assert [line.get_label() for line in left.lines] == ["market", "myopic"]
    assert left.lines[0].get_xdata().tolist() == [3, 6, 12]  # numbers at their positions
    # a band only where the interval is known: the market's, not myopic's (no interval)
    (band,) = left.collections
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == 0.5 and ys.max() == 5.0
    assert left.get_ylabel() == "simulate.welfare" and right.get_xlabel() == "buyers"
    assert right.get_legend() is not None and fig.get_suptitle() == "s: welfare"


def test_words_are_spaced_evenly_and_labelled():
    line = Line("solve.welfare", mean=[1.0, 2.0], low=[NAN, NAN], high=[NAN, NAN])
    fig = plot_study([Panel("", ["vcg", "pivot"], [line])], xlabel="mechanism.kind", ylabel="w")
    (ax,) = fig.axes
    assert ax.lines[0].get_xdata().tolist() == [0.0, 1.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["vcg", "pivot"]
    assert ax.get_legend() is None  # one member: no legend
    assert not ax.collections  # no interval anywhere: no band


def test_axis_values_and_labels():
    assert axis_values([12, 3, 6, 3]) == ([3, 6, 12], True)
    assert axis_values([True, False]) == ([True, False], False)  # booleans are not numbers
    assert label(0.75) == "0.75" and label(1 / 3) == "0.3333" and label("[1, 1]") == "[1, 1]"


def test_panels_must_be_given_in_drawing_order():
    line = Line("m", mean=[1.0, 2.0], low=[NAN, NAN], high=[NAN, NAN])
    with pytest.raises(ValueError, match="drawing order"):
        plot_study([Panel("", [6, 3], [line])], xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="at least one panel"):
        plot_study([], xlabel="x", ylabel="y")


def test_draws_into_given_axes_and_returns_their_figure():
    fig = new_figure((10.0, 3.0))
    axes = fig.subplots(1, 3)
    assert plot_study(_panels(), xlabel="buyers", ylabel="w", ax=axes[1:]) is fig
    assert not axes[0].lines and len(axes[1].lines) == len(axes[2].lines) == 2
    assert fig.get_size_inches().tolist() == [10.0, 3.0] and not fig.get_suptitle()
    single = new_figure((4.0, 3.0))
    ax = single.add_subplot()
    assert plot_study(_panels()[:1], xlabel="buyers", ylabel="w", ax=ax) is single
    assert len(ax.lines) == 2
    with pytest.raises(ValueError, match="one axes per panel"):
        plot_study(_panels(), xlabel="buyers", ylabel="w", ax=ax)


def test_a_list_of_axes_works_like_an_array():
    fig = new_figure((8.0, 3.0))
    axes = list(np.ravel(fig.subplots(1, 2)))
    assert plot_study(_panels(), xlabel="buyers", ylabel="w", ax=axes) is fig
    assert all(len(a.lines) == 2 for a in axes)
