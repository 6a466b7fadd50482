"""Study charts: a metric's mean over seeds against a swept parameter, with its confidence band.

:mod:`treemarket.study.report` computes the numbers (one :class:`Panel` per value of the other
swept parameters, one :class:`Line` per member of a metric family) and writes the files; this
module only draws. :func:`plot_study` returns a matplotlib figure with what it drew attached as
a plain dict, ``fig.treemarket_data``. matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from treemarket.viz.figure import new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PANEL_SIZE = (4.2, 3.4)  # inches per panel
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DASHES = ("-", "--", "-.", ":")


@dataclass(frozen=True)
class Line:
    """One metric in a panel: its mean at each x and the confidence interval of the mean (NaN
    where there is none, e.g. a single seed)."""

    label: str
    mean: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]


@dataclass(frozen=True)
class Panel:
    """One panel: its title, the parameter's values in drawing order and the lines on them."""

    title: str
    x: Sequence[Any]
    lines: Sequence[Line]


def label(value: Any) -> str:
    """A swept value in a title or on an axis: floats with 4 significant digits.

    Not :func:`treemarket.display.number`, which writes ``-0`` as ``0``: the pictures keep the
    value as swept.

    >>> label(0.123456), label(3), label("vcg")
    ('0.1235', '3', 'vcg')
    """
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def axis_values(values: Sequence[Any]) -> tuple[list[Any], bool]:
    """The distinct ``values`` in drawing order, and whether they are numbers (then sorted and
    drawn at their positions; otherwise in order of appearance, evenly spaced).

    >>> axis_values([1.0, 0.5, 1.0]), axis_values(["b", "a"])
    (([0.5, 1.0], True), (['b', 'a'], False))
    """
    xs = list(dict.fromkeys(values))
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs)
    return (sorted(xs) if numeric else xs), numeric


def plot_study(
    panels: Sequence[Panel],
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
    percent: bool = False,
    ax: Axes | Sequence[Axes] | np.ndarray | None = None,
) -> Figure:
    """A metric family against a swept parameter: one panel per :class:`Panel`, side by side
    with a shared y axis, each line its mean with a shaded confidence band.

    Parameters
    ----------
    panels : sequence of Panel
    xlabel, ylabel : str
        The swept parameter and the metric family.
    title : str
        The figure's title (drawn only on a figure made here).
    percent : bool
        The metric is a share: the y axis in percent.
    ax : matplotlib Axes or sequence of Axes, optional
        Draw into these axes, one per panel (an Axes alone for one panel); the figure of the
        first is returned and its layout left to the caller.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.treemarket_data``: ``kind`` ("study"), ``title``, ``xlabel``, ``ylabel``
        and ``panels`` (per panel ``title``, ``x`` and ``lines``: label -> ``mean``, ``low``,
        ``high``).

    Examples
    --------
    >>> line = Line("market", mean=[1.0, 2.0], low=[0.5, 1.5], high=[1.5, 2.5])
    >>> fig = plot_study([Panel("", [3, 6], [line])], xlabel="buyers", ylabel="welfare")
    >>> fig.treemarket_data["panels"][0]["lines"]["market"]["mean"]
    [1.0, 2.0]
    """
    if not panels:
        raise ValueError("a study picture needs at least one panel")
    owns = ax is None
    if ax is None:
        fig = new_figure((PANEL_SIZE[0] * len(panels), PANEL_SIZE[1]))
        axes = list(fig.subplots(1, len(panels), squeeze=False, sharey=True)[0])
    else:
        from matplotlib.axes import Axes as AxesType

        axes = [ax] if isinstance(ax, AxesType) else list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != len(panels):
            raise ValueError(f"give one axes per panel: {len(panels)} panels, {len(axes)} axes")
        fig = axes[0].figure
    for target, panel in zip(axes, panels, strict=True):
        _draw_panel(target, panel)
        target.set_title(panel.title, fontsize=9)
        target.set_xlabel(xlabel)
        target.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel)
    if percent:
        from matplotlib.ticker import PercentFormatter

        for target in axes:
            target.yaxis.set_major_formatter(PercentFormatter(1.0))
    if max(len(p.lines) for p in panels) > 1:
        axes[-1].legend(fontsize=8)
    if owns:
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
    fig.treemarket_data = {  # type: ignore[attr-defined]
        "kind": "study",
        "title": title,
        "xlabel": xlabel,
        "ylabel": ylabel,
        "panels": [
            {
                "title": p.title,
                "x": list(p.x),
                "lines": {
                    line.label: {
                        "mean": [float(v) for v in line.mean],
                        "low": [float(v) for v in line.low],
                        "high": [float(v) for v in line.high],
                    }
                    for line in p.lines
                },
            }
            for p in panels
        ],
    }
    return fig


def _draw_panel(ax: Axes, panel: Panel) -> None:
    xs, numeric = axis_values(panel.x)
    if xs != list(panel.x):
        raise ValueError("give a panel's x in drawing order (see axis_values)")
    positions = np.asarray(xs, dtype=float) if numeric else np.arange(len(xs), dtype=float)
    for k, line in enumerate(panel.lines):
        mean = np.asarray(line.mean, dtype=float)
        low = np.asarray(line.low, dtype=float)
        high = np.asarray(line.high, dtype=float)
        drawn = ax.plot(  # colour, marker and dash differ: series stay apart in grey too
            positions,
            mean,
            marker=MARKERS[k % len(MARKERS)],
            linestyle=DASHES[k % len(DASHES)],
            markersize=4,
            color=COLOURS[k % len(COLOURS)],
            label=line.label,
        )[0]
        ok = np.isfinite(low) & np.isfinite(high)
        if ok.any():
            ax.fill_between(
                positions,
                np.where(ok, low, mean),
                np.where(ok, high, mean),
                color=drawn.get_color(),
                alpha=0.12,
                linewidth=0,
            )
    if not numeric:
        ax.set_xticks(positions, [label(x) for x in xs])
