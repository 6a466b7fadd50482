"""The TTP scenario tree as drawn in the slides: per node the event, the buyers' values, who
buys and the supporting price range; large trees are collapsed into summary boxes.

:func:`plot_tree` returns a matplotlib figure and attaches what it drew as a plain dict,
``fig.treemarket_data``, so that tests (and users) can check the content of the picture
without looking at pixels. matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from treemarket.display import event, number
from treemarket.viz.figure import finite_or_none, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from treemarket.scenario import ScenarioTree
    from treemarket.ttp.result import TTPSolution

FloatArray = NDArray[np.float64]

SALE_FACE, SALE_EDGE = "#d6efd6", "#2e7d32"
IDLE_FACE, IDLE_EDGE = "#f6f6f6", "#9e9e9e"
SUMMARY_FACE, SUMMARY_EDGE = "#e8eef8", "#4a6fa5"
MAX_VALUES_SHOWN = 3  # buyers' values are listed per node up to this many buyers
MAX_COLOURED = 10  # boxes coloured by buyer up to this many buyers (else: green for a sale)
BUYER_COLOURS = (  # light faces and their edges, one pair per buyer (tab10, lightened)
    ("#c6dbef", "#1f77b4"),
    ("#fdd0a2", "#e6550d"),
    ("#c7e9c0", "#2ca02c"),
    ("#fcbba1", "#d62728"),
    ("#dadaeb", "#756bb1"),
    ("#e7cbb5", "#8c564b"),
    ("#fbc7e6", "#e377c2"),
    ("#d9d9d9", "#636363"),
    ("#f0f0b0", "#bcbd22"),
    ("#c2ecf1", "#17becf"),
)
MAX_NAMES = 4  # scenario names listed per event


def _event_text(tree: ScenarioTree, node: int, max_names: int = MAX_NAMES) -> str:
    """The node's event: :func:`treemarket.display.event` up to ``max_names`` names or all of
    Ω; a longer event shows its first two names and how many more (``{a, b, … +7}``), which
    keeps the boxes narrow."""
    names = tree.event(node)
    if len(names) <= max_names or len(names) == tree.n_scenarios:
        return event(names, max_names, tree.n_scenarios)
    return "{" + f"{names[0]}, {names[1]}, … +{len(names) - 2}" + "}"


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
    header = f"t={int(tree.time[node])}  " + (label if label else event)
    # values only for a few buyers: with more, the boxes would be walls of numbers (the tables
    # and the JSON have every value)
    shown = list(range(model.n_buyers)) if model.n_buyers <= MAX_VALUES_SHOWN else []
    lines = [header]
    if shown:
        lines.append("v: " + " · ".join(f"{model.buyers[i]} {number(values[i], 4)}" for i in shown))
    if buys:
        items = [
            b if n == 1 and model.counts[model.buyers.index(b)] == 1 else f"{b} ×{n:g}"
            for b, n in buys.items()
        ]
        buy_lines = _chunks(items, 2)
        buy_lines[0] = "buys: " + buy_lines[0]
        lines += buy_lines
    else:
        lines.append("no sale" if model.node_supply[node] > 0 else "no supply (μ = 0)")
    low = high = None
    if bounds is not None:
        low, high = float(bounds[0][node]), float(bounds[1][node])
        lines.append(f"p ∈ [{number(low, 4)}, {number(high, 4)}]")
    main = max(buys, key=lambda b: (buys[b], -model.buyers.index(b))) if buys else None
    return {
        "node": node,
        "main_buyer": main,
        "time": int(tree.time[node]),
        "event": tree.event(node),
        "label": label,
        "values": {b: float(values[i]) for i, b in enumerate(model.buyers)},
        "values_shown": [model.buyers[i] for i in shown],
        "buyers": list(buys),
        "buys": buys,
        "sale": bool(buys),
        "min": low,
        "max": None if high is None else finite_or_none(high),
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
        f"sales at {rec['nodes_with_sales']} nodes (E {number(rec['expected_sales'], 4)} permits)",
    ]
    if top:
        lines.append(
            "top: " + ", ".join(f"{model.buyers[i]} {number(per_buyer[i], 4)}" for i in top)
        )
    if solution.prices is not None:
        p = solution.prices.price[members]
        rec["price_min"], rec["price_max"] = float(p.min()), float(p.max())
        lines.append(f"p: {number(rec['price_min'], 4)} – {number(rec['price_max'], 4)}")
    if bounds is not None:
        low, high = float(bounds[0][members].min()), float(bounds[1][members].max())
        rec["range_min"], rec["range_max"] = low, finite_or_none(high)
        lines.append(f"ranges within [{number(low, 4)}, {number(high, 4)}]")
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


def _box(
    ax: Axes, rec: dict[str, Any], fontsize: float, frame: dict[str, Any], style: str = "normal"
) -> None:
    """A node's or a summary's text in its rounded box (``frame``: face, edge, line)."""
    ax.text(
        rec["x"],
        rec["y"],
        rec["text"],
        ha="center",
        va="center",
        fontsize=fontsize,
        zorder=3,
        linespacing=1.25,
        style=style,
        bbox={"boxstyle": "round,pad=0.4", **frame},
    )


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
        Draw into this axes. Its figure is returned and left as it is (size, layout); the
        legend and the collapse note become the axes' x label.

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

    Examples
    --------
    >>> from treemarket.ttp import solve
    >>> from treemarket.ttp.examples import weather
    >>> data = plot_tree(solve(weather())).treemarket_data
    >>> data["mode"], len(data["nodes"]), data["nodes"][0]["text"].splitlines()[0]
    ('full', 7, 't=0  {CF, CR, FC, RC}')
    """
    if max_nodes < 1:
        raise ValueError("max_nodes must be at least 1")
    model = solution.model
    tree = model.tree
    horizon = tree.horizon
    bounds = solution.price_bounds()
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
                edges.append(
                    {"parent": parent, "child": node, "prob": prob, "text": number(prob, 4)}
                )
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
    fontsize = 10.0 if n_rows <= 8 else 9.0 if n_rows <= 16 else 8.0 if n_rows <= 32 else 7.0
    box_w = n_chars * fontsize * 0.52 / 72 + 0.25
    col_w = max(box_w / 0.68, 1.8)
    row_h = n_lines * fontsize * 1.35 / 72 + 0.25
    owns = ax is None
    fig, ax = new_axes(
        ax, (max(6.0, n_cols * col_w + 0.6), min(200.0, max(3.6, n_rows * row_h + 1.8)))
    )
    for edge in edges:
        (x0, y0), (x1, y1) = pos[edge["parent"]], pos[edge["child"]]
        ax.plot([x0, x1], [y0, y1], color="#555555", lw=1.0, zorder=1)
        ax.text(
            (x0 + x1) / 2,
            (y0 + y1) / 2,
            edge["text"],
            ha="center",
            va="center",
            fontsize=fontsize - 1,
            zorder=2,
            color="#333333",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
        )
    colour_of = {b: BUYER_COLOURS[k % len(BUYER_COLOURS)] for k, b in enumerate(model.buyers)}
    by_buyer = model.n_buyers <= MAX_COLOURED
    for rec in nodes:
        if not rec["sale"]:
            face, edge_c, lw = IDLE_FACE, IDLE_EDGE, 0.8
        elif by_buyer:
            face, edge_c = colour_of[rec["main_buyer"]]
            lw = 1.6
        else:
            face, edge_c, lw = SALE_FACE, SALE_EDGE, 1.6
        _box(ax, rec, fontsize, {"fc": face, "ec": edge_c, "lw": lw})
    for rec in summaries:
        if "root" in rec:
            x0, y0 = pos[rec["root"]]
            ax.plot([x0, rec["x"]], [y0, rec["y"]], color=SUMMARY_EDGE, lw=1.0, ls="--", zorder=1)
        elif rec["time"] > 0:
            ax.annotate(
                "",
                xy=(rec["x"], 0),
                xytext=(rec["x"] - 1, 0),
                zorder=1,
                arrowprops={"arrowstyle": "-", "color": SUMMARY_EDGE},
            )
        _box(ax, rec, fontsize, {"fc": SUMMARY_FACE, "ec": SUMMARY_EDGE, "ls": "--"}, "italic")
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)  # the first leaf on top
    ax.set_xticks(range(n_cols), col_names)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    name = model.name or "TTP"
    title = f"{name}: expected welfare {number(solution.welfare, 4)}, μ = {model.supply.tolist()}"
    if solution.supported.refuted:
        bound = number(solution.lp_bound, 4)
        title += f"\nno prices support the integer optimum: LP prices (LP bound {bound})"
    elif solution.prices is not None and not solution.prices_certified:
        title += f"\nprices: the {solution.method} solver's, not certified"
    ax.set_title(title, fontsize=fontsize + 2, pad=18)
    sale = "box colour: the buyer who buys most there" if by_buyer else "green box: a sale"
    legend = (
        ("v: each buyer's value v_i(t, ω) · " if model.n_buyers <= MAX_VALUES_SHOWN else "")
        + f"{sale} (buys: who, ×units) · grey box: no sale · "
        "p ∈ [min, max]: supporting price range (any: no upper bound) · "
        "edge labels: conditional probabilities"
    )
    if by_buyer and nodes:
        from matplotlib.patches import Patch

        buyers_drawn = [b for b in model.buyers if any(r["main_buyer"] == b for r in nodes)]
        handles = [
            Patch(facecolor=colour_of[b][0], edgecolor=colour_of[b][1], label=b)
            for b in buyers_drawn
        ] + [Patch(facecolor=IDLE_FACE, edgecolor=IDLE_EDGE, label="no sale")]
        ax.legend(
            handles=handles,
            title="who buys",
            fontsize=fontsize - 1,
            title_fontsize=fontsize - 1,
            loc="upper left",
            frameon=False,
        )
    footer = legend if note is None else f"{note}\n{legend}"
    footer_size, footer_color = max(6.0, fontsize - 1), "#b03a2e" if note else "#333333"
    if owns:
        fig.text(
            0.01,
            0.005,
            footer,
            va="bottom",
            ha="left",
            wrap=True,
            fontsize=footer_size,
            color=footer_color,
        )
        fig.subplots_adjust(
            left=0.02,
            right=0.98,
            top=1 - 1.1 / fig.get_figheight(),
            bottom=0.75 / fig.get_figheight(),
        )
    else:  # the caller's figure: its layout is the caller's, the footer goes under the axes
        ax.set_xlabel(footer, wrap=True, fontsize=footer_size, color=footer_color)
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
