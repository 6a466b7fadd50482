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

    from treemarket.ttp.result import TTPSolution, Which

FloatArray = NDArray[np.float64]

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
RANGE_WIDTH = 0.5  # the ranges of one time share at most this much of the x axis


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


def plot_price_fan(
    solution: TTPSolution,
    *,
    which: Which = "low",
    max_paths: int = 40,
    ax: Axes | None = None,
) -> Figure:
    """Price paths over time: the distribution of p(t, ω) across scenarios, as a fan.

    For every time t the nodes of that time, weighted by their probabilities, give the
    distribution of the price of the supporting system ``which`` (``"low"``: the lowest expected
    revenue, the reported one; ``"high"``: the highest), named in the title; drawn are the
    10–90% and 25–75% bands of lower weighted quantiles (see :func:`weighted_quantiles`), the
    median and the mean, and each scenario's price path as a thin line when there are at most
    ``max_paths`` leaves. When the solution carries per-node price ranges, each node's
    supporting range ``[min, max]`` is drawn as a vertical segment right of its time, the nodes
    of one time side by side (an upward arrow where any higher price also supports the optimum).
    The legend lists only what can be seen (no band of zero width, no mean on top of the
    median).

    Parameters
    ----------
    solution : TTPSolution
    which : {"low", "high"}
        The supporting price system drawn (the LP's when the LP is fractional).
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
        time ``{"low": [...], "high": [...]}`` with None for no upper bound, or None),
        ``which``, ``legend`` (the labels shown) and ``supported``.

    Examples
    --------
    >>> from treemarket.ttp import solve
    >>> from treemarket.ttp.examples import weather
    >>> data = plot_price_fan(solve(weather())).treemarket_data
    >>> data["times"], data["ranges"][1]["high"]
    ([0, 1, 2], [4.0, 0.0])
    """
    system = solution.price_system(which)
    if system is None:
        raise ValueError("the solution carries no prices to draw")
    tree = solution.model.tree
    price = np.asarray(system.price, dtype=np.float64)
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
    tiny = 1e-9 * max(1.0, float(np.abs(price).max(initial=0.0)))

    def shown(label: str, visible: bool) -> str | None:
        return label if visible else None  # an invisible mark stays out of the legend

    wide, inner = quant[4] - quant[0] > tiny, quant[3] - quant[1] > tiny
    ax.fill_between(
        xs, quant[0], quant[4], color="#4a7fb5", alpha=0.18, lw=0, label=shown("10–90%", wide.any())
    )
    ax.fill_between(
        xs, quant[1], quant[3], color="#4a7fb5", alpha=0.4, lw=0, label=shown("25–75%", inner.any())
    )
    paths = None
    if tree.n_leaves <= max_paths:
        path_prices = price[tree.ancestors]
        paths = path_prices.tolist()
        for row in path_prices:
            ax.plot(xs, row, color="#555555", lw=0.6, alpha=0.55, zorder=2)
        apart = bool(np.any(np.abs(path_prices - quant[2][None, :]) > tiny))
        ax.plot([], [], color="#555555", lw=0.6, alpha=0.55, label=shown("scenario paths", apart))
    ax.plot(xs, quant[2], color="#1f3f66", lw=2.2, marker="o", zorder=4, label="median")
    if np.any(np.abs(mean - quant[2]) > tiny):  # a mean on top of the median is not drawn
        ax.plot(xs, mean, color="#e08a1e", lw=1.4, ls="--", zorder=5, label="mean")

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
            # the nodes of time t side by side in [t + 0.08, t + 0.08 + width]
            width = min(RANGE_WIDTH, 0.07 * lo.shape[0])
            x = t + 0.08 + width * (np.arange(lo.shape[0]) + 0.5) / lo.shape[0]
            segments += [
                [(float(xk), a), (float(xk), min(b, top))]
                for xk, a, b in zip(x, lo, hi, strict=True)
            ]
            open_x += x[np.isinf(hi)].tolist()
            ends = np.concatenate([lo, np.minimum(hi, top)])  # caps: a point range stays visible
            ax.plot(np.tile(x, 2), ends, ls="none", marker="_", ms=7, color="#b03a2e", zorder=3)
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
    ax.set_xlim(-0.3, times[-1] + 0.2 + RANGE_WIDTH)
    ax.set_ylim(min(0.0, float(np.min(price))) - 0.04 * top, top * 1.04)
    ax.set_xticks(times)
    ax.set_xlabel("trading time t")
    ax.set_ylabel("price p(t, ω)")
    name = solution.model.name or "TTP"
    system_name = "lowest" if which == "low" else "highest"
    title = f"{name}: market prices across scenarios ({system_name}-revenue supporting prices)"
    if solution.supported.refuted:
        title = f"{name}: the LP's {system_name}-revenue prices (none support the integer optimum)"
    elif not solution.prices_certified:
        title = f"{name}: prices across scenarios (the {solution.method} solver's, not certified)"
    ax.set_title(title, fontsize=10)
    legend = ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
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
        "which": which,
        "legend": [text.get_text() for text in legend.get_texts()],
        "supported": solution.supported.to_json(),
    }
    return fig
