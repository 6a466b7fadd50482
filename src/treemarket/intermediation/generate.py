"""Random intermediation trees for tests and benchmarks (vectorized, millions of nodes)."""

from __future__ import annotations

import numpy as np

from treemarket.intermediation.tree import IntermediationTree


def random_tree(
    n: int,
    rng: np.random.Generator | int | None = None,
    *,
    shape: str = "recursive",
    seller: float | None = None,
    limits: str = "uniform",
) -> IntermediationTree:
    """A random tree with ``n`` nodes.

    Parameters
    ----------
    n : int
        Number of nodes (at least 2).
    rng : numpy Generator or seed
    shape : {"recursive", "network", "caterpillar"}
        ``recursive``: node ``k`` hangs below a uniform earlier node (height about ``e ln n``).
        ``network``: a distribution network of about 5 levels with random fan-out.
        ``caterpillar``: a spine with one customer per spine node (height ``n/2``).
    seller : float, optional
        The seller's limit ``s``; default a uniform fraction of ``Σ b``.
    limits : {"uniform", "integer"}
        Customers' limits uniform on ``[0, 10)`` or integers ``0..10``.

    Examples
    --------
    >>> t = random_tree(50, 1)
    >>> t.n, bool(t.surplus >= 0)
    (50, True)
    """
    if n < 2:
        raise ValueError("a tree needs at least 2 nodes")
    if limits not in ("uniform", "integer"):
        raise ValueError(f"unknown limits {limits!r}; known: uniform, integer")
    gen = np.random.default_rng(rng)
    if shape == "recursive":
        parent = np.r_[-1, (gen.random(n - 1) * np.arange(1, n)).astype(np.int64)]
    elif shape == "network":
        parent = _network(n, gen)
    elif shape == "caterpillar":
        spine = (n + 1) // 2
        parent = np.full(n, -1, dtype=np.int64)
        parent[1:spine] = np.arange(spine - 1)
        parent[spine:] = np.arange(n - spine)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    is_leaf = np.ones(n, dtype=bool)
    is_leaf[parent[1:]] = False
    if limits == "integer":
        b = gen.integers(0, 11, size=n).astype(np.float64)
    else:
        b = gen.random(n) * 10.0
    b = np.where(is_leaf, b, np.nan)
    total = float(np.nansum(b))
    b[0] = total * gen.random() if seller is None else seller
    return IntermediationTree.from_arrays(parent, b)


def _network(n: int, gen: np.random.Generator, levels: int = 5) -> np.ndarray:
    """Parents of a layered network: level sizes grow geometrically to ``n``."""
    ratio = max(n ** (1.0 / levels), 1.5)
    sizes = [1]
    while sum(sizes) < n:
        sizes.append(min(int(np.ceil(sizes[-1] * ratio)), n - sum(sizes)))
    parent = np.full(n, -1, dtype=np.int64)
    start = 1
    prev = np.arange(1)
    for size in sizes[1:]:
        idx = np.arange(start, start + size)
        # every node of the previous level gets a child; the rest choose at random
        first = min(size, prev.size)
        parent[idx[:first]] = prev[:first]
        parent[idx[first:]] = gen.choice(prev, size=size - first)
        prev = idx
        start += size
    return parent
