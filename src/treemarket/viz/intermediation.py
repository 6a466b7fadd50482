"""Pictures of intermediation trees, drawn like Fig. 1a of the paper: the seller on top, products
and limit prices on the nodes, prices on the edges, utilities on the nodes.

Every picture function takes ``ax=None`` (draw into a new figure, or into this axes) and returns
the matplotlib :class:`~matplotlib.figure.Figure`, with what it drew attached as a plain dict,
``fig.treemarket_data``, so that tests (and users) can check the content of a picture without
looking at pixels. matplotlib is imported inside the functions, with the Agg backend; figures are
made without pyplot, so nothing needs closing. Writing a picture to a file is the caller's
(``treemarket intermediation plot`` writes it atomically).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from treemarket.display import number
from treemarket.intermediation import Analysis, IntermediationTree, format_products
from treemarket.intermediation.tree import FloatArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Above this many nodes only the names are written on the nodes, not the numbers.
FULL_LABELS_MAX = 80
#: Values within this fraction of ``tree.unit`` of 0 are written as 0 (rounding, not money).
ZERO_LABEL = 1e-12


def tree_layout(tree: IntermediationTree) -> FloatArray:
    """``(n, 2)`` positions: customers at ``x = 0, 1, 2, …`` in preorder, an inner node centred
    over its first and last child, ``y = −depth``.

    Examples
    --------
    >>> from treemarket.intermediation import example_tree
    >>> tree_layout(example_tree()).tolist()[:3]
    [[1.25, 0.0], [0.5, -1.0], [0.0, -2.0]]
    """
    n = tree.n
    x = np.zeros(n)
    x[tree.is_leaf] = np.arange(tree.customers)
    last = np.full(n, -1, dtype=np.int64)
    kids = np.arange(1, n)
    np.maximum.at(last, tree.parent[1:], kids)
    first_rev = np.full(n, n, dtype=np.int64)
    np.minimum.at(first_rev, tree.parent[1:], kids)
    first = np.where(first_rev < n, first_rev, -1)
    order, offsets = tree.levels
    for d in range(offsets.size - 2, -1, -1):
        idx = order[offsets[d] : offsets[d + 1]]
        inner = idx[~tree.is_leaf[idx]]
        x[inner] = (x[first[inner]] + x[last[inner]]) / 2
    return np.column_stack([x, 0.0 - tree.depth.astype(np.float64)])


def _label(x: float, unit: float) -> str:
    """A price, limit or utility on the picture: 4 significant digits, rounding noise as 0."""
    return number(x if abs(x) > ZERO_LABEL * unit else 0.0, 4)


def draw_tree(result: Analysis, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Draw ``result.tree`` with the prices and utilities of ``result.pricing``.

    Node text: name, product set ``set(j)``, limit price (``s`` at the seller, ``b`` at customers)
    and the utility ``u``; edge text: the price ``p_j`` paid by the child ``j``. Customers are
    squares, the seller a diamond, intermediaries circles; an agent with a negative utility
    (squeezed) is ringed and written in red, and an edge priced 0 (where ``p ≥ 0`` binds) is
    dashed red; the legend says both when they occur.

    Parameters
    ----------
    result : Analysis
        From :func:`treemarket.intermediation.analyze`.
    ax : matplotlib Axes, optional
        Draw into this axes (its figure is returned and not resized); by default a new figure
        sized to the tree.
    title : str, optional
        The title before `` — <rule> prices (<method>)``; default the tree's name.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.treemarket_data``: ``kind`` ("intermediation-tree"), ``title``, ``positions``
        (node name -> (x, y)), ``node_labels`` (node name -> text), ``edge_labels`` ((parent,
        child) -> text), ``binding`` (the edges priced 0) and ``negative`` (the nodes with
        ``u < 0``).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    tree, pricing = result.tree, result.pricing
    names, unit = tree.names, tree.unit
    pos = tree_layout(tree)
    full = tree.n <= FULL_LABELS_MAX
    width = max(4.0, 1.6 * tree.customers if full else 0.25 * tree.customers)
    height = max(3.0, 1.7 * (tree.height + 1))
    own = ax is None
    if ax is None:
        ax = Figure(figsize=(min(width, 40.0), min(height, 20.0))).add_subplot()
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    heading = title or result.tree.name or "intermediation tree"
    heading += f" — {pricing.rule} prices ({pricing.method})"
    ax.set_title(heading, fontsize=10)
    ax.set_axis_off()

    edge_labels: dict[tuple[str, str], str] = {}
    binding: list[tuple[str, str]] = []
    for j in range(1, tree.n):
        i = int(tree.parent[j])
        key = (names[i], names[j])
        zero = pricing.prices[j] == 0.0
        if zero:
            binding.append(key)
        ax.plot(
            [pos[i, 0], pos[j, 0]],
            [pos[i, 1], pos[j, 1]],
            color="tab:red" if zero else "0.35",
            linestyle="--" if zero else "-",
            linewidth=1.0,
            zorder=1,
        )
        text = f"p = {_label(pricing.prices[j], unit)}"
        edge_labels[key] = text
        if full:
            mx, my = (pos[i] + pos[j]) / 2
            box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"}
            ax.text(
                mx,
                my,
                text,
                fontsize=8.5,
                ha="center",
                va="center",
                color="tab:blue",
                bbox=box,
                zorder=3,
            )

    node_labels: dict[str, str] = {}
    negative: list[str] = []
    colors = {"seller": "tab:orange", "intermediary": "tab:gray", "customer": "tab:green"}
    markers = {"seller": "D", "intermediary": "o", "customer": "s"}
    for role in ("seller", "intermediary", "customer"):
        idx = [i for i in range(tree.n) if tree.role(i) == role]
        if idx:
            ax.scatter(
                pos[idx, 0],
                pos[idx, 1],
                s=60,
                c=colors[role],
                marker=markers[role],
                zorder=2,
                label=role,
            )
    for i in range(tree.n):
        u = float(pricing.utilities[i])
        lines = [names[i], format_products(tree.products_of(i))]
        if i == 0:
            lines.append(f"s = {_label(tree.limit[0], unit)}")
        elif tree.is_leaf[i]:
            lines.append(f"b = {_label(tree.limit[i], unit)}")
        lines.append(f"u = {_label(u, unit)}")
        label = "\n".join(lines)
        node_labels[names[i]] = label
        if u < 0:
            negative.append(names[i])
        ax.text(
            pos[i, 0],
            pos[i, 1] - 0.12,
            label if full else names[i],
            fontsize=8.5,
            ha="center",
            va="top",
            color="tab:red" if u < 0 else "black",
            zorder=4,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    if negative:  # the squeezed agents: a red ring, and the legend says what red means
        idx = [list(names).index(name) for name in negative]
        ax.scatter(
            pos[idx, 0],
            pos[idx, 1],
            s=260,
            facecolors="none",
            edgecolors="tab:red",
            linewidths=1.5,
            zorder=3,
            label="squeezed: utility u < 0 (red text)",
        )
    if binding:
        ax.plot(
            [], [], color="tab:red", linestyle="--", linewidth=1.0, label="price 0 (p ≥ 0 binds)"
        )
    ax.set_ylim(-tree.height - 0.9, 0.4)
    ax.set_xlim(-0.8, max(tree.customers - 1, 1) + 0.8)
    ax.legend(loc="lower center", ncol=2, fontsize=8.5, frameon=False)
    if own:
        fig.tight_layout()
    positions = {names[i]: (float(pos[i, 0]), float(pos[i, 1])) for i in range(tree.n)}
    fig.treemarket_data = {  # type: ignore[attr-defined]
        "kind": "intermediation-tree",
        "title": heading,
        "positions": positions,
        "node_labels": node_labels,
        "edge_labels": edge_labels,
        "binding": binding,
        "negative": negative,
    }
    return fig
