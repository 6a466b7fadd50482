"""The policies compared: expected welfare and revenue of the sequential markets against the
designs a planner would otherwise use (:mod:`treemarket.ttp.simulate`).

:func:`plot_policies` returns a matplotlib figure with what it drew attached as a plain dict,
``fig.treemarket_data``. matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from treemarket.display import number
from treemarket.ttp.simulate import POLICIES
from treemarket.viz.figure import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from treemarket.ttp.simulate import SimulationResult


def plot_policies(sim: SimulationResult, *, ax: Axes | None = None) -> Figure:
    """Expected welfare and revenue by policy, with the [P0] optimum as a reference line.

    In sampled mode the bars carry error bars of ±1.96 standard errors (a 95% interval). In
    exact mode there are none, unless some policy still reports a sampling error (the random
    arrival orders of ``fcfs`` and ``lottery``), which is then drawn the same way. The efficiency
    (welfare / optimum) is written above each welfare bar and the expected unsold permits under
    each policy's name.

    Parameters
    ----------
    sim : SimulationResult
        From :func:`treemarket.ttp.simulate.simulate`.
    ax : matplotlib Axes, optional
        Draw into this axes; its figure is returned and its layout left to the caller.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.treemarket_data``: ``kind`` ("policies"), ``policies`` (names in drawing
        order), ``welfare`` and ``revenue`` (the drawn bar heights), ``welfare_err`` and
        ``revenue_err`` (half-widths drawn, or None), ``error_bars`` (bool), ``efficiency``,
        ``unsold``, ``optimum``, ``mode``, ``paths``. The policies of
        :data:`treemarket.ttp.simulate.POLICIES` come first, in that order.

    Examples
    --------
    >>> from treemarket.ttp import solve
    >>> from treemarket.ttp.examples import weather
    >>> from treemarket.ttp.simulate import simulate
    >>> model = weather()
    >>> data = plot_policies(simulate(model, solve(model))).treemarket_data
    >>> data["policies"], data["welfare"][:2]
    (['market', 'myopic', 'fcfs', 'lottery'], [12.0, 11.0])
    """
    names = [k for k in POLICIES if k in sim.policies]
    names += [k for k in sim.policies if k not in names]
    outcomes = [sim.policies[k] for k in names]
    sampled = sim.mode == "sampled"
    welfare = [float(o.welfare) for o in outcomes]
    revenue = [float(o.revenue) for o in outcomes]
    # exact mode may still average random arrival orders (fcfs, lottery): show that error too
    random_orders = any(o.welfare_se > 0 or o.revenue_se > 0 for o in outcomes)
    with_errors = sampled or random_orders
    werr = [1.96 * float(o.welfare_se) for o in outcomes] if with_errors else None
    rerr = [1.96 * float(o.revenue_se) for o in outcomes] if with_errors else None

    owns = ax is None
    fig, ax = new_axes(ax, (max(6.0, 1.6 * len(names) + 2.5), 4.6))
    x = np.arange(len(names), dtype=np.float64)
    width = 0.38
    err_kw = {"capsize": 4, "ecolor": "#222222"}
    bars_w = ax.bar(
        x - width / 2,
        welfare,
        width,
        yerr=werr,
        label="expected welfare",
        color="#4a7fb5",
        error_kw=err_kw,
    )
    bars_r = ax.bar(
        x + width / 2,
        revenue,
        width,
        yerr=rerr,
        label="expected revenue",
        color="#e39b3a",
        error_kw=err_kw,
    )
    ax.axhline(
        float(sim.optimum),
        color="#222222",
        ls="--",
        lw=1.2,
        label=f"[P0] optimum = {number(sim.optimum, 4)}",
    )
    for bar, outcome, err in zip(bars_w, outcomes, werr or [0.0] * len(names), strict=True):
        top = max(bar.get_height(), 0.0) + err
        # not display.percent: it writes "-" where this writes "nan%" (an optimum of 0)
        ax.annotate(
            f"{outcome.efficiency:.0%}",
            (bar.get_x() + bar.get_width() / 2, top),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    labels = [f"{n}\n(unsold {number(o.unsold, 4)})" for n, o in zip(names, outcomes, strict=True)]
    ax.set_xticks(x, labels)
    ax.axhline(0.0, color="#999999", lw=0.6)
    ax.set_ylabel("expected value")
    if sampled:
        how = f"sampled, {sim.paths} paths; bars ± 1.96 s.e."
    elif random_orders:
        how = "exact over scenarios; ± 1.96 s.e. of the random orders"
    else:
        how = "exact expectation"
    ax.set_title(f"Policies compared ({how}); % = efficiency against [P0]", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.margins(y=0.12)
    if owns:  # the caller's figure keeps the caller's layout
        fig.tight_layout()
    fig.treemarket_data = {  # type: ignore[attr-defined]
        "kind": "policies",
        "policies": names,
        "welfare": [float(b.get_height()) for b in bars_w],
        "revenue": [float(b.get_height()) for b in bars_r],
        "welfare_err": werr,
        "revenue_err": rerr,
        "error_bars": bars_w.errorbar is not None or bars_r.errorbar is not None,
        "efficiency": [float(o.efficiency) for o in outcomes],
        "unsold": [float(o.unsold) for o in outcomes],
        "optimum": float(sim.optimum),
        "mode": sim.mode,
        "paths": int(sim.paths),
    }
    return fig
