"""How much of the welfare a tree promises the markets deliver on real paths, by tree size
(:func:`treemarket.ttp.outofsample.size_curve`).

:func:`plot_size_curve` returns a matplotlib figure with what it drew attached as a plain dict,
``fig.treemarket_data``. matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from treemarket.viz.figure import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from treemarket.ttp.outofsample import SizePoint

STYLE = {
    "tree": ("#1f77b4", "-", "o"),
    "market": ("#2ca02c", "--", "s"),
    "myopic": ("#ff7f0e", ":", "^"),
    "fcfs": ("#7f7f7f", ":", "v"),
    "lottery": ("#9467bd", ":", "D"),
}


def plot_size_curve(
    points: Sequence[SizePoint],
    *,
    policies: Sequence[str] = ("tree", "myopic"),
    ax: Axes | None = None,
) -> Figure:
    """Welfare against the tree's size: the in-sample optimum [P0] (what the tree promises) and
    each policy's mean welfare on the held-out paths, with ±1.96 standard errors.

    Parameters
    ----------
    points : sequence of SizePoint
        From :func:`treemarket.ttp.outofsample.size_curve`.
    policies : sequence of str
        The out-of-sample policies drawn.
    ax : matplotlib Axes, optional
        Draw into this axes; its figure is returned and its layout left to the caller.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.treemarket_data``: ``kind`` ("size_curve"), ``nodes``, ``branching`` (as
        text), ``in_sample`` (the optima) and ``out_of_sample`` (``{policy: welfare per
        point}``).
    """
    ordered = sorted(points, key=lambda p: p.nodes)
    nodes = [p.nodes for p in ordered]
    fig, ax = new_axes(ax, (7.0, 4.4))
    optimum = [p.optimum for p in ordered]
    ax.plot(nodes, optimum, color="#d62728", marker="o", label="in sample: optimum [P0]")
    drawn: dict[str, list[float]] = {}
    for name in policies:
        if not all(name in p.out_of_sample.policies for p in ordered):
            continue
        outs = [p.out_of_sample.policies[name] for p in ordered]
        welfare = [o.welfare for o in outs]
        color, line, marker = STYLE.get(name, ("#333333", "-", "o"))
        ax.errorbar(
            nodes,
            welfare,
            yerr=[1.96 * o.welfare_se for o in outs],
            color=color,
            linestyle=line,
            marker=marker,
            capsize=3,
            label=f"out of sample: {name}",
        )
        drawn[name] = welfare
    ax.set_xscale("log")
    ax.set_xticks(nodes, [str(n) for n in nodes])
    ax.minorticks_off()
    ax.set_xlabel("nodes of the tree (log scale)")
    ax.set_ylabel("mean welfare per path")
    labels = ["×".join(str(k) for k in p.branching) for p in ordered]
    for x, y, text in zip(nodes, optimum, labels, strict=True):
        ax.annotate(
            text, (x, y), textcoords="offset points", xytext=(0, -14), ha="center", fontsize=8
        )
    ax.set_title("what the tree promises and what it delivers on held-out paths")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.treemarket_data = {  # type: ignore[attr-defined]
        "kind": "size_curve",
        "nodes": nodes,
        "branching": labels,
        "in_sample": optimum,
        "out_of_sample": drawn,
    }
    return fig
