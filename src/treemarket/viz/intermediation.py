"""Pictures of intermediation trees, drawn like Fig. 1a of the paper: the seller on top, products
and limit prices on the nodes, prices on the edges, utilities on the nodes.

matplotlib is imported inside the functions, with the Agg backend.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from treemarket.intermediation import Analysis, IntermediationTree, format_products
from treemarket.intermediation.tree import FloatArray

#: Above this many nodes only the names are written on the nodes, not the numbers.
FULL_LABELS_MAX = 80


@dataclass
class TreePicture:
    """What was drawn: the figure and, per node and per edge, the position and the text.

    ``edge_labels`` is keyed by ``(parent name, child name)``; ``binding`` lists the edges whose
    price is 0 (drawn dashed: the constraint ``p ≥ 0`` binds there).
    """

    figure: Any
    title: str
    positions: dict[str, tuple[float, float]]
    node_labels: dict[str, str]
    edge_labels: dict[tuple[str, str], str]
    binding: list[tuple[str, str]] = field(default_factory=list)
    negative: list[str] = field(default_factory=list)

    def texts(self) -> list[str]:
        """Every text drawn on the axes."""
        return [t.get_text() for ax in self.figure.axes for t in ax.texts]


def tree_layout(tree: IntermediationTree) -> FloatArray:
    """``(n, 2)`` positions: customers at ``x = 0, 1, 2, …`` in preorder, an inner node centred
    over its first and last child, ``y = −depth``.

    >>> from treemarket.intermediation import example_tree
    >>> tree_layout(example_tree()).tolist()[:3]
    [[1.25, 0.0], [0.5, -1.0], [0.0, -2.0]]
    """
    n = tree.n
    x = np.zeros(n)
    x[tree.is_leaf] = np.arange(tree.customers)
    first = np.full(n, -1, dtype=np.int64)
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


def _num(x: float) -> str:
    return f"{x:.4g}" if abs(x) >= 1e-12 else "0"


def draw_tree(result: Analysis, ax: Any = None, title: str | None = None) -> TreePicture:
    """Draw ``result.tree`` with the prices and utilities of ``result.pricing``.

    Node text: name, product set, limit price (``s`` at the seller, ``b`` at customers) and the
    utility ``u``; edge text: the price ``p`` paid by the child. Customers are squares, the
    seller a diamond, intermediaries circles; a negative utility is drawn in red.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tree, pricing = result.tree, result.pricing
    names = tree.names
    pos = tree_layout(tree)
    full = tree.n <= FULL_LABELS_MAX
    width = max(4.0, 1.6 * tree.customers if full else 0.25 * tree.customers)
    height = max(3.0, 1.7 * (tree.height + 1))
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(width, 40.0), min(height, 20.0)))
    else:
        fig = ax.figure
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
        text = f"p = {_num(pricing.prices[j])}"
        edge_labels[key] = text
        if full:
            mx, my = (pos[i] + pos[j]) / 2
            box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"}
            ax.text(mx, my, text, fontsize=7, ha="center", va="center", color="tab:blue",
                    bbox=box, zorder=3)  # fmt: skip

    node_labels: dict[str, str] = {}
    negative: list[str] = []
    colors = {"seller": "tab:orange", "intermediary": "tab:gray", "customer": "tab:green"}
    markers = {"seller": "D", "intermediary": "o", "customer": "s"}
    for role in ("seller", "intermediary", "customer"):
        idx = [i for i in range(tree.n) if tree.role(i) == role]
        if idx:
            ax.scatter(pos[idx, 0], pos[idx, 1], s=60, c=colors[role], marker=markers[role],
                       zorder=2, label=role)  # fmt: skip
    for i in range(tree.n):
        u = float(pricing.utilities[i])
        lines = [names[i], format_products(tree.products_of(i))]
        if i == 0:
            lines.append(f"s = {_num(tree.limit[0])}")
        elif tree.is_leaf[i]:
            lines.append(f"b = {_num(tree.limit[i])}")
        lines.append(f"u = {_num(u)}")
        label = "\n".join(lines)
        node_labels[names[i]] = label
        if u < 0:
            negative.append(names[i])
        ax.text(
            pos[i, 0],
            pos[i, 1] - 0.12,
            label if full else names[i],
            fontsize=7,
            ha="center",
            va="top",
            color="tab:red" if u < 0 else "black",
            zorder=4,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    ax.set_ylim(-tree.height - 0.9, 0.4)
    ax.set_xlim(-0.8, max(tree.customers - 1, 1) + 0.8)
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    fig.tight_layout()
    positions = {names[i]: (float(pos[i, 0]), float(pos[i, 1])) for i in range(tree.n)}
    return TreePicture(fig, heading, positions, node_labels, edge_labels, binding, negative)


def save_tree_picture(
    result: Analysis, path: str | os.PathLike[str], fmt: str = "png"
) -> TreePicture:
    """Draw and write the picture atomically (complete or absent); returns what was drawn."""
    import matplotlib.pyplot as plt

    from treemarket.io.common import write_atomic

    picture = draw_tree(result)
    try:
        write_atomic(path, lambda h: picture.figure.savefig(h, format=fmt, dpi=150), mode="wb")
    finally:
        plt.close(picture.figure)
    return picture
