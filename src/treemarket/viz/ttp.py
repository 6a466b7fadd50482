"""Pictures of TTP solutions: the scenario tree, the policies compared, and the price fan.

Every function returns a matplotlib :class:`~matplotlib.figure.Figure` and attaches what it drew
as a plain dict, ``fig.treemarket_data``, so that tests (and users) can check the content of a
picture without looking at pixels. matplotlib is imported inside the functions, with the Agg
backend; figures are made without pyplot, so nothing needs closing.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from treemarket.scenario import ScenarioTree
    from treemarket.ttp.result import TTPSolution
    from treemarket.ttp.simulate import SimulationResult

FloatArray = NDArray[np.float64]

POLICY_ORDER = ("market", "myopic", "fcfs", "lottery")
QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
SALE_FACE, SALE_EDGE = "#d6efd6", "#2e7d32"
IDLE_FACE, IDLE_EDGE = "#f6f6f6", "#9e9e9e"
SUMMARY_FACE, SUMMARY_EDGE = "#e8eef8", "#4a6fa5"
MAX_VALUES_SHOWN = 6  # buyers' values listed per node; more buyers -> the highest ones


def _figure_class() -> type[Figure]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure


def _new_axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = _figure_class()(figsize=size)
    return fig, fig.add_subplot()


def _num(x: float) -> str:
    """A number for a label: 4 significant digits, ``any`` for +inf, no ``-0``."""
    if math.isinf(x) and x > 0:
        return "any"
    return f"{float(x) + 0.0:.4g}"


def _finite_or_none(x: float) -> float | None:
    return None if math.isinf(x) else float(x)


def price_bounds(solution: TTPSolution) -> tuple[FloatArray, FloatArray] | None:
    """Per node, the lowest and highest supporting price (``inf``: no upper bound).

    The same numbers as ``solution.price_table()`` (``max`` None there is ``inf`` here): the
    ranges when computed, else the reported price where supply is offered.

    Parameters
    ----------
    solution : TTPSolution

    Returns
    -------
    (low, high) : pair of (N,) arrays, or None when the solution carries no prices.
    """
    return solution.price_bounds()


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


# ---------------------------------------------------------------------------- the tree
def _event_text(tree: ScenarioTree, node: int, max_names: int = 4) -> str:
    start, stop = int(tree.event_start[node]), int(tree.event_stop[node])
    k = stop - start
    if k <= max_names:
        return "{" + ", ".join(sorted(tree.scenario_names[start:stop].tolist())) + "}"
    if k == tree.n_scenarios:
        return f"Ω ({k} scenarios)"
    names = sorted(tree.scenario_names[start:stop].tolist())
    return "{" + f"{names[0]}, {names[1]}, … +{k - 2}" + "}"


def _label(tree: ScenarioTree, node: int) -> str | None:
    if tree.labels is None or tree.labels[node] is None:
        return None
    return str(tree.labels[node])


def _chunks(items: list[str], size: int) -> list[str]:
    return [" · ".join(items[k : k + size]) for k in range(0, len(items), size)]


def _node_record(
    solution: TTPSolution, node: int, bounds: tuple[FloatArray, FloatArray] | None
) -> dict[str, Any]:
    model = solution.model
    tree = model.tree
    values = model.values[:, node]
    bought = solution.y[:, node]
    buys = {model.buyers[i]: float(round(bought[i])) for i in np.flatnonzero(bought > 0.5).tolist()}
    label = _label(tree, node)
    event = _event_text(tree, node)
    header = f"t={int(tree.time[node])}  " + (f"{label} {event}" if label else event)
    if model.n_buyers <= MAX_VALUES_SHOWN:
        shown = list(range(model.n_buyers))
    else:
        buyers_here = [model.buyers.index(b) for b in buys]
        rest = [i for i in np.argsort(-values, kind="stable").tolist() if i not in buyers_here]
        shown = (buyers_here + rest)[: max(MAX_VALUES_SHOWN, len(buyers_here))]
        shown.sort(key=lambda i: -values[i])
    value_items = [f"{model.buyers[i]} {_num(values[i])}" for i in shown]
    lines = [header]
    value_lines = _chunks(value_items, 3)
    if value_lines:
        value_lines[0] = "v: " + value_lines[0]
    hidden = model.n_buyers - len(shown)
    if hidden:
        value_lines[-1] += f" … +{hidden}"
    lines += value_lines
    if buys:
        items = [b if n == 1 and model.counts[model.buyers.index(b)] == 1 else f"{b} ×{n:g}"
                 for b, n in buys.items()]  # fmt: skip
        buy_lines = _chunks(items, 2)
        buy_lines[0] = "buys: " + buy_lines[0]
        lines += buy_lines
    else:
        lines.append("no sale" if model.node_supply[node] > 0 else "no supply (μ = 0)")
    low = high = None
    if bounds is not None:
        low, high = float(bounds[0][node]), float(bounds[1][node])
        lines.append(f"p ∈ [{_num(low)}, {_num(high)}]")
    return {
        "node": node,
        "time": int(tree.time[node]),
        "event": tree.event(node),
        "label": label,
        "values": {b: float(values[i]) for i, b in enumerate(model.buyers)},
        "values_shown": [model.buyers[i] for i in shown],
        "buyers": list(buys),
        "buys": buys,
        "sale": bool(buys),
        "min": low,
        "max": None if high is None else _finite_or_none(high),
        "price": None if solution.prices is None else float(solution.prices.price[node]),
        "text": "\n".join(lines),
    }


def _summary_record(
    solution: TTPSolution,
    members: NDArray[np.int64],
    base_prob: float,
    bounds: tuple[FloatArray, FloatArray] | None,
    title: str,
) -> dict[str, Any]:
    """Statistics of a set of nodes (a collapsed subtree, or one time level)."""
    model = solution.model
    tree = model.tree
    prob = tree.prob[members] / base_prob
    y = solution.y[:, members]
    sold = y.sum(axis=0)
    per_buyer = (y * prob).sum(axis=1)  # expected permits per buyer, given the base event
    top = [int(i) for i in np.argsort(-per_buyer, kind="stable")[:3] if per_buyer[i] > 1e-12]
    times = tree.time[members]
    rec: dict[str, Any] = {
        "n_nodes": int(members.shape[0]),
        "times": [int(times.min()), int(times.max())],
        "nodes_with_sales": int(np.count_nonzero(sold > 0.5)),
        "expected_sales": float((sold * prob).sum()),
        "buyers": {model.buyers[i]: float(per_buyer[i]) for i in top},
        "price_min": None,
        "price_max": None,
        "range_min": None,
        "range_max": None,
    }
    span = f"{times.min()}" if times.min() == times.max() else f"{times.min()}…{times.max()}"
    lines = [
        title,
        f"{rec['n_nodes']} node{'s' if rec['n_nodes'] != 1 else ''}, t={span}",
        f"sales at {rec['nodes_with_sales']} nodes (E {_num(rec['expected_sales'])} permits)",
    ]
    if top:
        lines.append("top: " + ", ".join(f"{model.buyers[i]} {_num(per_buyer[i])}" for i in top))
    if solution.prices is not None:
        p = solution.prices.price[members]
        rec["price_min"], rec["price_max"] = float(p.min()), float(p.max())
        lines.append(f"p: {_num(rec['price_min'])} – {_num(rec['price_max'])}")
    if bounds is not None:
        low, high = float(bounds[0][members].min()), float(bounds[1][members].max())
        rec["range_min"], rec["range_max"] = low, _finite_or_none(high)
        lines.append(f"ranges within [{_num(low)}, {_num(high)}]")
    rec["text"] = "\n".join(lines)
    return rec


def _collapse_depth(tree: ScenarioTree, max_nodes: int) -> int | None:
    """The deepest time d drawn in full: nodes of times ≤ d plus one summary per node of time d
    fit in ``max_nodes``. T when the whole tree fits; None when not even the roots do."""
    offsets = tree.level_offsets
    if tree.n_nodes <= max_nodes:
        return tree.horizon
    best = None
    for d in range(tree.horizon):
        if int(offsets[d + 1]) + int(offsets[d + 1] - offsets[d]) <= max_nodes:
            best = d
    return best


def _top_ancestor(tree: ScenarioTree, depth: int) -> NDArray[np.int64]:
    """For every node below time ``depth``, its ancestor of time ``depth`` (others: itself)."""
    top = np.arange(tree.n_nodes, dtype=np.int64)
    for t in range(depth + 1, tree.horizon + 1):
        level = tree.level(t)
        top[level] = top[tree.parent[level]]
    return top


def plot_tree(solution: TTPSolution, *, max_nodes: int = 60, ax: Axes | None = None) -> Figure:
    """The scenario tree as drawn in the slides, with values, sales and price ranges per node.

    Nodes are laid out by time (x) with the leaves spread on y, each parent centred on its
    children. Edges carry the conditional probabilities. Each node shows its label (if any) and
    event, each buyer's value v_i(t, ω) (the highest ones when there are many buyers), who buys
    there (green box, ``buys:`` line) and the supporting price range ``p ∈ [min, max]`` (``any``:
    no upper bound).

    Trees with more than ``max_nodes`` nodes are collapsed: the times 0..d are drawn in full,
    with d the deepest time such that those nodes plus one summary box per node of time d fit in
    ``max_nodes``; each summary box stands for the whole subtree below its node (node count,
    nodes with sales and expected permits sold given the node, the buyers who buy most, the
    reported prices and the price ranges). When not even the nodes of time 0 fit, one summary box
    per time is drawn. The figure states what was collapsed.

    Parameters
    ----------
    solution : TTPSolution
    max_nodes : int, default 60
        Most boxes drawn (nodes plus summaries).
    ax : matplotlib Axes, optional
        Draw into this axes (its figure is returned and not resized).

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.treemarket_data``: ``kind`` ("tree"), ``mode`` ("full", "subtrees" or
        "by_time"), ``collapsed``, ``note`` (what was collapsed, or None), ``n_nodes`` (of the
        tree), ``depth_drawn``, ``nodes`` (one dict per drawn node: ``node``, ``time``,
        ``event``, ``label``, ``values``, ``values_shown``, ``buyers``, ``buys``, ``sale``,
        ``min``, ``max`` (None: any), ``price``, ``text``), ``edges`` (``parent``, ``child``,
        ``prob``, ``text``), ``summaries`` (one dict per summary box: ``root`` or ``time``,
        ``n_nodes``, ``times``, ``nodes_with_sales``, ``expected_sales``, ``buyers``,
        ``price_min/max``, ``range_min/max``, ``text``), ``supported`` and ``welfare``.
    """
    if max_nodes < 1:
        raise ValueError("max_nodes must be at least 1")
    model = solution.model
    tree = model.tree
    horizon = tree.horizon
    bounds = price_bounds(solution)
    depth = _collapse_depth(tree, max_nodes)

    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    pos: dict[int, tuple[float, float]] = {}
    note: str | None = None
    if depth is None:
        mode = "by_time"
        for t in range(horizon + 1):
            members = np.arange(*tree.level_offsets[t : t + 2], dtype=np.int64)
            rec = _summary_record(solution, members, 1.0, bounds, f"time {t}")
            rec["time"] = t
            rec["x"], rec["y"] = float(t), 0.0
            summaries.append(rec)
        n_rows, n_cols = 1, horizon + 1
        note = (
            f"collapsed: {tree.n_nodes} nodes (more than {max_nodes} even at time 0); "
            "one summary box per time"
        )
        col_names = [f"t = {t}" for t in range(horizon + 1)]
    else:
        mode = "full" if depth == horizon else "subtrees"
        frontier = np.arange(*tree.level_offsets[depth : depth + 2], dtype=np.int64)
        n_rows = int(frontier.shape[0])
        n_cols = depth + 1 + (depth < horizon)
        y = np.zeros(tree.n_nodes)
        y[frontier] = np.arange(n_rows, dtype=np.float64)
        for t in range(depth - 1, -1, -1):
            level = np.arange(*tree.level_offsets[t : t + 2], dtype=np.int64)
            first = tree.child_start[level]
            last = first + tree.n_children[level] - 1
            y[level] = (y[first] + y[last]) / 2.0
        drawn = int(tree.level_offsets[depth + 1])
        for node in range(drawn):
            rec = _node_record(solution, node, bounds)
            rec["x"], rec["y"] = float(tree.time[node]), float(y[node])
            pos[node] = (rec["x"], rec["y"])
            nodes.append(rec)
            parent = int(tree.parent[node])
            if parent >= 0:
                prob = float(tree.cond_prob[node])
                edges.append({"parent": parent, "child": node, "prob": prob, "text": _num(prob)})
        col_names = [f"t = {t}" for t in range(depth + 1)]
        if depth < horizon:
            top = _top_ancestor(tree, depth)
            deep = np.arange(drawn, tree.n_nodes, dtype=np.int64)
            groups = top[deep]
            order = np.argsort(groups, kind="stable")
            cuts = np.searchsorted(groups[order], frontier)
            cuts = np.append(cuts, deep.shape[0])
            for k, root in enumerate(frontier.tolist()):
                members = deep[order[cuts[k] : cuts[k + 1]]]
                rec = _summary_record(
                    solution, members, float(tree.prob[root]), bounds, "subtree below"
                )
                rec["root"] = root
                rec["x"], rec["y"] = float(depth + 1), float(y[root])
                summaries.append(rec)
            col_names.append(f"t = {depth + 1}…{horizon} (summarized)")
            note = (
                f"collapsed: {tree.n_nodes} nodes; times 0–{depth} drawn in full ({drawn} "
                f"nodes), times {depth + 1}–{horizon} ({tree.n_nodes - drawn} nodes) summarized "
                "per subtree (E: expected given the subtree's root)"
            )

    # --------------------------------------------------------------- drawing
    texts = [r["text"] for r in nodes] + [r["text"] for r in summaries]
    n_lines = max(t.count("\n") + 1 for t in texts)
    n_chars = max(len(line) for t in texts for line in t.split("\n"))
    fontsize = 9.0 if n_rows <= 8 else 8.0 if n_rows <= 16 else 7.0 if n_rows <= 32 else 6.0
    box_w = n_chars * fontsize * 0.52 / 72 + 0.25
    col_w = max(box_w / 0.68, 1.8)
    row_h = n_lines * fontsize * 1.35 / 72 + 0.25
    fig, ax = _new_axes(
        ax, (max(6.0, n_cols * col_w + 0.6), min(200.0, max(3.6, n_rows * row_h + 1.8)))
    )
    for edge in edges:
        (x0, y0), (x1, y1) = pos[edge["parent"]], pos[edge["child"]]
        ax.plot([x0, x1], [y0, y1], color="#555555", lw=1.0, zorder=1)
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, edge["text"], ha="center", va="center",
                fontsize=fontsize - 1, zorder=2, color="#333333",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})  # fmt: skip
    for rec in nodes:
        face, edge_c, lw = (
            (SALE_FACE, SALE_EDGE, 1.6) if rec["sale"] else (IDLE_FACE, IDLE_EDGE, 0.8)
        )
        ax.text(rec["x"], rec["y"], rec["text"], ha="center", va="center", fontsize=fontsize,
                zorder=3, linespacing=1.25,
                bbox={"boxstyle": "round,pad=0.4", "fc": face, "ec": edge_c, "lw": lw})  # fmt: skip
    for rec in summaries:
        if "root" in rec:
            x0, y0 = pos[rec["root"]]
            ax.plot([x0, rec["x"]], [y0, rec["y"]], color=SUMMARY_EDGE, lw=1.0, ls="--", zorder=1)
        elif rec["time"] > 0:
            ax.annotate("", xy=(rec["x"], 0), xytext=(rec["x"] - 1, 0), zorder=1,
                        arrowprops={"arrowstyle": "-", "color": SUMMARY_EDGE})  # fmt: skip
        ax.text(rec["x"], rec["y"], rec["text"], ha="center", va="center", fontsize=fontsize,
                zorder=3, linespacing=1.25, style="italic",
                bbox={"boxstyle": "round,pad=0.4", "fc": SUMMARY_FACE, "ec": SUMMARY_EDGE,
                      "ls": "--"})  # fmt: skip
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)  # the first leaf on top
    ax.set_xticks(range(n_cols), col_names)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    name = model.name or "TTP"
    title = f"{name}: expected welfare {_num(solution.welfare)}, μ = {model.supply.tolist()}"
    if solution.supported.refuted:
        bound = _num(solution.lp_bound)
        title += f"\nno prices support the integer optimum: LP prices (LP bound {bound})"
    ax.set_title(title, fontsize=fontsize + 2, pad=18)
    legend = (
        "v: each buyer's value v_i(t, ω) · green box: a permit is sold there (buys: who) · "
        "p ∈ [min, max]: supporting price range (any: no upper bound) · "
        "edge labels: conditional probabilities"
    )
    footer = legend if note is None else f"{note}\n{legend}"
    fig.text(0.01, 0.005, footer, fontsize=max(6.0, fontsize - 1), va="bottom", ha="left",
             color="#b03a2e" if note else "#333333", wrap=True)  # fmt: skip
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 1.1 / fig.get_figheight(),
                        bottom=0.75 / fig.get_figheight())  # fmt: skip
    fig.treemarket_data = {  # type: ignore[attr-defined]
        "kind": "tree",
        "mode": mode,
        "collapsed": mode != "full",
        "note": note,
        "n_nodes": tree.n_nodes,
        "depth_drawn": depth,
        "nodes": nodes,
        "edges": edges,
        "summaries": summaries,
        "supported": solution.supported.to_json(),
        "welfare": float(solution.welfare),
    }
    return fig


# ----------------------------------------------------------------------- policies
def plot_policies(sim: SimulationResult) -> Figure:
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

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.treemarket_data``: ``kind`` ("policies"), ``policies`` (names in drawing
        order), ``welfare`` and ``revenue`` (the drawn bar heights), ``welfare_err`` and
        ``revenue_err`` (half-widths drawn, or None), ``error_bars`` (bool), ``efficiency``,
        ``unsold``, ``optimum``, ``mode``, ``paths``.
    """
    names = [k for k in POLICY_ORDER if k in sim.policies]
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

    fig, ax = _new_axes(None, (max(6.0, 1.6 * len(names) + 2.5), 4.6))
    x = np.arange(len(names), dtype=np.float64)
    width = 0.38
    err_kw = {"capsize": 4, "ecolor": "#222222"}
    bars_w = ax.bar(x - width / 2, welfare, width, yerr=werr, label="expected welfare",
                    color="#4a7fb5", error_kw=err_kw)  # fmt: skip
    bars_r = ax.bar(x + width / 2, revenue, width, yerr=rerr, label="expected revenue",
                    color="#e39b3a", error_kw=err_kw)  # fmt: skip
    ax.axhline(float(sim.optimum), color="#222222", ls="--", lw=1.2,
               label=f"[P0] optimum = {_num(float(sim.optimum))}")  # fmt: skip
    for bar, outcome, err in zip(bars_w, outcomes, werr or [0.0] * len(names), strict=True):
        top = max(bar.get_height(), 0.0) + err
        ax.annotate(f"{outcome.efficiency:.0%}", (bar.get_x() + bar.get_width() / 2, top),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)  # fmt: skip
    labels = [
        f"{n}\n(unsold {_num(float(o.unsold))})" for n, o in zip(names, outcomes, strict=True)
    ]
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


# ---------------------------------------------------------------------- price fan
def plot_price_fan(solution: TTPSolution, *, max_paths: int = 40) -> Figure:
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

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.treemarket_data``: ``kind`` ("price_fan"), ``times``, ``quantiles``
        (``{"10": [...], "25": ..., "50": ..., "75": ..., "90": ...}`` per time), ``median``,
        ``mean``, ``paths`` (one price list per leaf, or None when not drawn), ``ranges`` (per
        time ``{"low": [...], "high": [...]}`` with None for no upper bound, or None), and
        ``supported``.
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

    fig, ax = _new_axes(None, (min(11.0, max(7.0, 0.9 * len(times) + 5)), 4.6))
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
    bounds = price_bounds(solution) if solution.ranges is not None else None
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
            ranges.append({"low": lo.tolist(), "high": [_finite_or_none(h) for h in hi]})
            x = t + 0.1
            segments += [[(x, a), (x, min(b, top))] for a, b in zip(lo, hi, strict=True)]
            open_x += [x] * int(np.count_nonzero(np.isinf(hi)))
        alpha = float(min(0.8, max(0.08, 4.0 / max(1, tree.n_nodes // len(times)))))
        ax.add_collection(LineCollection(segments, colors="#b03a2e", linewidths=2.0, alpha=alpha,
                                         label="supporting range per node"))  # fmt: skip
        if open_x:
            ax.plot(open_x, [top] * len(open_x), ls="none", marker="^", color="#b03a2e",
                    alpha=max(alpha, 0.6), label="range without upper bound")  # fmt: skip
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


# --------------------------------------------------------------------------- files
def save(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 120) -> Path:
    """Write ``fig`` as PNG or SVG (by the suffix), completely or not at all.

    The picture goes to a temporary file in the same folder, which then replaces ``path``.

    Parameters
    ----------
    fig : matplotlib Figure
    path : path ending in ``.png`` or ``.svg``
    dpi : int, default 120
        Resolution of PNG files.

    Returns
    -------
    Path
        The written path.
    """
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise ValueError(f"cannot tell the picture format of {target}: use .png or .svg")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=dpi, bbox_inches="tight")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; pictures are for sharing
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
