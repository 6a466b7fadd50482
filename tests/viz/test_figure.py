"""The shared figure helpers: writing pictures, and matplotlib imported only when drawing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from treemarket.viz.figure import new_axes, new_figure, save
from treemarket.viz.prices import plot_price_fan
from treemarket.viz.tree import plot_tree

VIZ_MODULES = [
    "treemarket.viz",
    "treemarket.viz.figure",
    "treemarket.viz.tree",
    "treemarket.viz.prices",
    "treemarket.viz.policies",
    "treemarket.viz.study",
    "treemarket.study.report",
    "treemarket.cli.ttp_plot",
]


@pytest.mark.parametrize("module", VIZ_MODULES)
def test_importing_does_not_import_matplotlib(module):
    code = f"import sys, {module}; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_new_axes_uses_the_given_axes_or_makes_a_figure():
    fig, ax = new_axes(None, (3.0, 2.0))
    assert fig.axes == [ax] and fig.get_size_inches().tolist() == [3.0, 2.0]
    other = new_figure((4.0, 4.0))
    given = other.add_subplot()
    assert new_axes(given, (3.0, 2.0)) == (other, given)


def test_save_writes_png_and_svg_atomically(tmp_path, weather_solution):
    fig = plot_tree(weather_solution)
    png = save(fig, tmp_path / "pics" / "tree.png")
    svg = save(plot_price_fan(weather_solution), tmp_path / "pics" / "fan.SVG")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    text = svg.read_text()
    assert "<svg" in text and "weather" in text
    assert sorted(p.name for p in (tmp_path / "pics").iterdir()) == ["fan.SVG", "tree.png"]
    with pytest.raises(ValueError, match="png or .svg"):
        save(fig, tmp_path / "tree.pdf")


def test_save_gives_the_umask_permissions(tmp_path, weather_solution):
    import os

    old = os.umask(0o027)
    try:
        path = save(plot_tree(weather_solution), tmp_path / "tree.png")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["tree.png"]  # no temporary file left
