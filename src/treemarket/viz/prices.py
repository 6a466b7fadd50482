"""The price fan: how the market price p(t, ω) spreads across scenarios over time.

:func:`plot_price_fan` returns a matplotlib figure with what it drew attached as a plain dict,
``fig.treemarket_data``. matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from treemarket.viz.figure import finite_or_none, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from treemarket.ttp.result import TTPSolution

FloatArray = NDArray[np.float64]

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)


def weighted_quantiles(
    values: Sequence[float] | FloatArray, weights: Sequence[float] | FloatArray, qs: Sequence[float]
) -> FloatArray:
    """Lower weighted quantiles: for each q the smallest value x with P(X ≤ x) ≥ q.

    Parameters
    ----------
    values, weights : (n,) arrays
        The sample and its (not necessarily normalised) probabilities.
    qs : sequence of float in [0, 1]

    Returns
    -------
    (len(qs),) array

    Examples
    --------
    >>> weighted_quantiles([3.0, 1.0, 2.0], [0.2, 0.3, 0.5], [0.1, 0.3, 0.5, 0.9]).tolist()
    [1.0, 1.0, 2.0, 3.0]
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    cum = cum / cum[-1]
    idx = np.searchsorted(cum, np.asarray(qs, dtype=np.float64) - 1e-12, side="left")
    return v[order][np.minimum(idx, v.shape[0] - 1)]


def plot_price_fan(solution: TTPSolution, *, max_paths: int = 40, ax: Axes | None = None) -> Figure:
    """Price paths over time: the distribution of p(t, ω) across scenarios, as a fan.

    For every time t the nodes of that time, weighted by their probabilities, give the
    distribution of the reported price ``solution.prices.price``; drawn are the 10–90% and
    25–75% bands of lower weighted quantiles (see :func:`weighted_quantiles`), the median and the
    mean, and each scenario's price path as a thin line when there are at most ``max_paths``
    leaves. When the solution carries per-node price ranges, each node's supporting range
    ``[min, max]`` is drawn as a vertical segment just right of its time (an upward arrow where
    any higher price also supports the optimum).

    Parameters
    ----------
    solution : TTPSolution
    max_paths : int, default 40
        Draw each scenario's price path when there are at most this many scenarios.
    ax : matplotlib Axes, optional
        Draw into this axes; its figure is returned and its layout left to the caller.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.treemarket_data``: ``kind`` ("price_fan"), ``times``, ``quantiles``
        (``{"10": [...], "25": ..., "50": ..., "75": ..., "90": ...}`` per time), ``median``,
        ``mean``, ``paths`` (one price list per leaf, or None when not drawn), ``ranges`` (per
        time ``{"low": [...], "high": [...]}`` with None for no upper bound, or None), and
        ``supported``.

    Examples
    --------
    >>> from treemarket.ttp import solve
    >>> from treemarket.ttp.examples import weather
    >>> data = plot_price_fan(solve(weather())).treemarket_data
    >>> data["times"], data["ranges"][1]["high"]
    ([0, 1, 2], [4.0, 0.0])
    """
    if solution.prices is None:
        raise ValueError("the solution carries no prices to draw")
    tree = solution.model.tree
    price = np.asarray(solution.prices.price, dtype=np.float64)
    times = list(range(tree.horizon + 1))
    quant = np.empty((len(QUANTILES), len(times)))
    mean = np.empty(len(times))
    for t in times:
        level = tree.level(t)
        p, w = price[level], tree.prob[level]
        quant[:, t] = weighted_quantiles(p, w, QUANTILES)
        mean[t] = float((p * w).sum() / w.sum())

    owns = ax is None
    fig, ax = new_axes(ax, (min(11.0, max(7.0, 0.9 * len(times) + 5)), 4.6))
    xs = np.asarray(times, dtype=np.float64)
    ax.fill_between(xs, quant[0], quant[4], color="#4a7fb5", alpha=0.18, lw=0, label="10–90%")
    ax.fill_between(xs, quant[1], quant[3], color="#4a7fb5", alpha=0.35, lw=0, label="25–75%")
    paths = None
    if tree.n_leaves <= max_paths:
        path_prices = price[tree.ancestors]
        paths = path_prices.tolist()
        for row in path_prices:
            ax.plot(xs, row, color="#555555", lw=0.6, alpha=0.55, zorder=2)
        ax.plot([], [], color="#555555", lw=0.6, alpha=0.55, label="scenario paths")
    ax.plot(xs, quant[2], color="#1f3f66", lw=2.2, marker="o", zorder=4, label="median")
    ax.plot(xs, mean, color="#1f3f66", lw=1.2, ls=":", zorder=4, label="mean")

    finite = [price]
    ranges = None
    bounds = solution.price_bounds() if solution.ranges is not None else None
    if bounds is not None:
        finite += [bounds[0], bounds[1][np.isfinite(bounds[1])]]
    top = max(float(np.max(np.concatenate(finite))), 0.0)
    top = top * 1.12 if top > 0 else 1.0
    if bounds is not None:
        from matplotlib.collections import LineCollection

        low, high = bounds
        ranges = []
        segments = []
        open_x: list[float] = []
        for t in times:
            level = tree.level(t)
            lo, hi = low[level], high[level]
            ranges.append({"low": lo.tolist(), "high": [finite_or_none(h) for h in hi]})
            x = t + 0.1
            segments += [[(x, a), (x, min(b, top))] for a, b in zip(lo, hi, strict=True)]
            open_x += [x] * int(np.count_nonzero(np.isinf(hi)))
        alpha = float(min(0.8, max(0.08, 4.0 / max(1, tree.n_nodes // len(times)))))
        ax.add_collection(
            LineCollection(
                segments,
                colors="#b03a2e",
                linewidths=2.0,
                alpha=alpha,
                label="supporting range per node",
            )
        )
        if open_x:
            ax.plot(
                open_x,
                [top] * len(open_x),
                ls="none",
                marker="^",
                color="#b03a2e",
                alpha=max(alpha, 0.6),
                label="range without upper bound",
            )
    ax.set_xlim(-0.3, times[-1] + 0.4)
    ax.set_ylim(min(0.0, float(np.min(price))) - 0.04 * top, top * 1.04)
    ax.set_xticks(times)
    ax.set_xlabel("trading time t")
    ax.set_ylabel("price p(t, ω)")
    name = solution.model.name or "TTP"
    title = f"{name}: market prices across scenarios"
    if solution.supported.refuted:
        title += " (LP prices: no prices support the integer optimum)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    if owns:  # the caller's figure keeps the caller's layout
        fig.tight_layout()
    fig.treemarket_data = {  # type: ignore[attr-defined]
        "kind": "price_fan",
        "times": times,
        "quantiles": {f"{round(q * 100)}": quant[k].tolist() for k, q in enumerate(QUANTILES)},
        "median": quant[2].tolist(),
        "mean": mean.tolist(),
        "paths": paths,
        "ranges": ranges,
        "supported": solution.supported.to_json(),
    }
    return fig
