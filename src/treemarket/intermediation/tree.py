"""The intermediation tree of Definition 1, stored as numpy arrays in depth-first preorder.

Node 0 is the seller S (the root), every other node ``j`` buys the product set ``set(j)`` from its
parent at the price ``p_j`` (one price per edge, keyed by the buying node). Leaves are customers
with limit prices ``b``; inner nodes other than the root are intermediaries.

Because the nodes are in preorder, the subtree ``T_j`` of node ``j`` is the index range
``[j, j + size[j])``: subtree sums are differences of one cumulative sum, without a loop per node.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import depth_first_order

from treemarket.errors import ModelError, format_place

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Product = int | str
Place = tuple[str | int, ...]
#: Above this height, level-by-level passes give way to preorder (depth-free) methods.
MAX_LEVELS = 4000
ErrorFactory = Callable[[Place, str], ModelError]


def _plain_error(place: Place, message: str) -> ModelError:
    return ModelError(message, place=format_place(place))


def format_products(products: Iterable[Product]) -> str:
    """A product set as ``{1, 2}``, sorted (numbers before names), runs of five or more
    consecutive numbers shortened.

    Examples
    --------
    >>> format_products([3, 1, "x"])
    '{1, 3, x}'
    >>> format_products(range(1, 21))
    '{1–20}'
    """
    items = sorted(set(products), key=lambda p: (isinstance(p, str), p))
    parts: list[str] = []
    k = 0
    while k < len(items):
        run = k
        while (
            run + 1 < len(items)
            and isinstance(items[run + 1], int)
            and isinstance(items[run], int)
            and items[run + 1] == items[run] + 1  # type: ignore[operator]
        ):
            run += 1
        if run - k >= 4:
            parts.append(f"{items[k]}–{items[run]}")
            k = run + 1
        else:
            parts.append(str(items[k]))
            k += 1
    return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True, eq=False)
class IntermediationTree:
    """An intermediation tree with limit prices (Definition 1), as arrays in preorder.

    Build one with :meth:`from_arrays` or :func:`build_tree` (nested node mappings); files,
    nested dicts and networkx graphs from users go through :mod:`treemarket.io.intermediation_file`
    (``load_intermediation``, ``tree_from_data``, ``tree_from_networkx``), which checks their
    schema first. All of them validate Definition 1.

    Attributes
    ----------
    parent : (n,) int
        Index of the parent; ``-1`` for the root (index 0). ``parent[j] < j``.
    limit : (n,) float
        The seller's limit price ``s`` at index 0, the customer's ``b`` at each leaf, ``nan`` at
        intermediaries.
    depth : (n,) int
        Number of edges from the root.
    size : (n,) int
        ``|T_j|``, the number of nodes in the subtree of ``j`` (``T_j = j .. j + size[j] - 1``).
    name : str or None
        The model's name.

    Examples
    --------
    >>> tree = build_tree({
    ...     "name": "S", "products": [1, 2], "limit": 1,
    ...     "children": [{"name": "B", "products": [1, 2], "limit": 5}]})
    >>> tree.n, tree.transactions, tree.names
    (2, 1, ('S', 'B'))
    """

    parent: IntArray
    limit: FloatArray
    depth: IntArray
    size: IntArray
    name: str | None = None
    _names: tuple[str, ...] | None = field(default=None, repr=False)
    _products: tuple[tuple[Product, ...], ...] | None = field(default=None, repr=False)
    _original: IntArray | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ basic facts
    @property
    def n(self) -> int:
        """Number of nodes ``t + 1``."""
        return int(self.parent.shape[0])

    @property
    def transactions(self) -> int:
        """``t = r + x``, the number of edges (Prop. 1)."""
        return self.n - 1

    @cached_property
    def is_leaf(self) -> BoolArray:
        """Customers (leaves)."""
        leaf = self.size == 1
        leaf.flags.writeable = False
        return leaf

    @property
    def customers(self) -> int:
        """``r``, the number of customers (leaves)."""
        return int(self.is_leaf.sum())

    @property
    def intermediaries(self) -> int:
        """``x``, the number of intermediaries (inner nodes other than the root)."""
        return self.n - 1 - self.customers

    @property
    def seller_limit(self) -> float:
        """``s``."""
        return float(self.limit[0])

    @cached_property
    def customer_limit(self) -> FloatArray:
        """``b`` at the leaves, 0 elsewhere."""
        b = np.where(self.is_leaf, self.limit, 0.0)
        b.flags.writeable = False
        return b

    @cached_property
    def subtree_limit(self) -> FloatArray:
        """``B_j``: the sum of the customers' limits in the subtree of ``j`` (``B_0 = Σ b``)."""
        return self.subtree_sum(self.customer_limit)

    @cached_property
    def total_limit(self) -> float:
        """``Σ_leaves b``, correctly rounded (``math.fsum``)."""
        return math.fsum(self.limit[self.is_leaf].tolist())

    @cached_property
    def surplus(self) -> float:
        """``Σ b − s``: the sum of all utilities under any prices (the utilitarian welfare).
        Correctly rounded, so its sign decides collective profitability exactly."""
        return math.fsum([*self.limit[self.is_leaf].tolist(), -self.seller_limit])

    @cached_property
    def scale(self) -> float:
        """A magnitude for tolerances: ``max(s, Σ b)`` (1 when both are 0)."""
        m = max(self.seller_limit, self.total_limit)
        return m if m > 0 else 1.0

    @cached_property
    def unit(self) -> float:
        """A per-node magnitude for tolerances: ``max b`` (or ``s``, or 1)."""
        b = self.customer_limit
        m = float(b.max()) if b.size else 0.0
        if m <= 0:
            m = self.seller_limit
        return m if m > 0 else 1.0

    @cached_property
    def levels(self) -> tuple[IntArray, IntArray]:
        """``(order, offsets)``: the nodes of depth ``d`` are ``order[offsets[d]:offsets[d+1]]``,
        in preorder (so their parents are non-decreasing)."""
        order = np.argsort(self.depth, kind="stable").astype(np.int64)
        counts = np.bincount(self.depth)
        offsets = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return order, offsets

    @property
    def height(self) -> int:
        """The largest depth."""
        return int(self.depth.max())

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Node names in preorder (default: the node's index as given to :meth:`from_arrays`)."""
        if self._names is not None:
            return self._names
        labels = self._original if self._original is not None else np.arange(self.n)
        return tuple(str(i) for i in labels.tolist())

    @cached_property
    def index(self) -> dict[str, int]:
        """Name -> preorder index."""
        return {name: i for i, name in enumerate(self.names)}

    def products_of(self, node: int) -> tuple[Product, ...]:
        """``set(node)``, sorted. Without declared products every customer buys one product named
        after it."""
        if self._products is not None:
            return self._products[node]
        stop = node + int(self.size[node])
        names = self.names
        leaves = np.flatnonzero(self.is_leaf[node:stop]) + node
        return tuple(names[i] for i in leaves.tolist())

    def role(self, node: int) -> str:
        """``seller``, ``intermediary`` or ``customer``."""
        if node == 0:
            return "seller"
        return "customer" if self.is_leaf[node] else "intermediary"

    def children(self, node: int) -> IntArray:
        """The children of ``node``, in order."""
        stop = node + int(self.size[node])
        inside = np.arange(node + 1, stop)
        return inside[self.parent[node + 1 : stop] == node]

    # ------------------------------------------------------------------ subtree algebra
    def subtree_sum(self, values: ArrayLike, *more: ArrayLike) -> FloatArray:
        """``Σ_{i ∈ T_j} values_i`` for every ``j`` (with ``more``: the sum over all the arrays).

        Accumulated level by level from the deepest. Terms of both signs are added as a pair of
        doubles (:func:`bin_sums`), so that every sum is the exact one rounded once, however much
        its terms cancel (``p_j = B_j − Σ_{T_j} u`` is tiny beside ``B_j`` on a tree that is
        barely profitable); one array of terms ``≥ 0`` cannot cancel and is added plainly (each
        sum within its number of terms times ``2^-53`` of itself). Trees higher than
        ``MAX_LEVELS`` use one extended-precision cumulative sum over the preorder ranges instead.
        """
        terms = [np.asarray(v, dtype=np.float64) for v in (values, *more)]
        if len(terms) == 1 and self.height <= MAX_LEVELS and not (terms[0] < 0).any():
            order, offsets = self.levels
            acc = terms[0].copy()
            for d in range(offsets.size - 2, 0, -1):
                idx = order[offsets[d] : offsets[d + 1]]
                par = self.parent[idx]
                starts = np.flatnonzero(np.r_[True, par[1:] != par[:-1]])
                acc[par[starts]] += np.add.reduceat(acc[idx], starts)
            return acc
        if self.height > MAX_LEVELS:
            total = np.zeros(self.n, dtype=np.longdouble)
            idx = np.arange(self.n)
            for v in terms:
                cs = np.zeros(self.n + 1, dtype=np.longdouble)
                np.cumsum(v, dtype=np.longdouble, out=cs[1:])
                total += cs[idx + self.size] - cs[idx]
            return total.astype(np.float64)
        # each node's own terms as hi + lo exactly (lo: the rounding errors, tiny beside hi)
        hi, lo = terms[0].copy(), np.zeros(self.n)
        for v in terms[1:]:
            hi, err = _two_sum(hi, v)
            lo += err
        order, offsets = self.levels
        rank = np.empty(self.n, dtype=np.int64)  # a node's place within its level
        rank[order] = np.arange(self.n) - np.repeat(offsets[:-1], np.diff(offsets))
        for d in range(offsets.size - 2, 0, -1):
            kids = order[offsets[d] : offsets[d + 1]]
            above = order[offsets[d - 1] : offsets[d]]
            par = rank[self.parent[kids]]
            own = np.arange(above.size)
            # the large parts exactly; the small ones (all below 2^-52 of the terms) plainly
            high, low = _split_sums(
                np.concatenate([hi[above], hi[kids]]), np.concatenate([own, par]), above.size
            )
            lo[above] += low + _bincount(par, lo[kids], above.size)
            hi[above] = high
        return hi + lo

    def utilities(self, prices: ArrayLike) -> FloatArray:
        """Utilities under edge prices ``p`` (``prices[0]`` is ignored).

        ``u_0 = −s + Σ_{children} p_j``; ``u_i = −p_i + Σ_{children} p_j`` for an intermediary;
        ``u_i = b_i − p_i`` for a customer. Each is the exact value rounded once
        (:func:`bin_sums`): on a barely profitable tree utilities are tiny differences of
        prices of the size of the limits, and summing them in floating point would leave
        rounding errors of that size in them.
        """
        p = np.asarray(prices, dtype=np.float64).copy()
        p[0] = self.seller_limit  # the root pays s, in effect
        leaf = self.is_leaf
        u = self.customer_limit - p  # a customer's: one operation, rounded once
        inner = np.flatnonzero(~leaf)
        slot = np.full(self.n, -1, dtype=np.int64)
        slot[inner] = np.arange(inner.size)
        u[inner] = bin_sums(
            np.concatenate([-p[inner], p[1:]]),
            np.concatenate([slot[inner], slot[self.parent[1:]]]),
            inner.size,
        )
        return u

    def prices(self, utilities: ArrayLike) -> FloatArray:
        """The unique prices giving ``utilities`` (which must sum to ``Σ b − s``):
        ``p_j = B_j − Σ_{i ∈ T_j} u_i``, each the exact value rounded once; ``prices[0] = 0``."""
        u = np.asarray(utilities, dtype=np.float64)
        p = self.subtree_sum(self.customer_limit, -u)
        p[0] = 0.0
        return p

    def path_to(self, node: int) -> list[int]:
        """The chain of indices from the root to ``node``."""
        path = [node]
        while path[-1] != 0:
            path.append(int(self.parent[path[-1]]))
        return path[::-1]

    def chains(self) -> list[list[str]]:
        """Root-to-leaf chains (the decomposition of Prop. 1), as lists of node names."""
        names = self.names
        return [
            [names[i] for i in self.path_to(int(leaf))] for leaf in np.flatnonzero(self.is_leaf)
        ]

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        parent: ArrayLike,
        limit: ArrayLike,
        names: Sequence[str] | None = None,
        products: Sequence[Iterable[Product]] | None = None,
        name: str | None = None,
    ) -> IntermediationTree:
        """A tree from a parent array (any node order; ``-1`` marks the root) and limit prices.

        ``limit[i]`` is ``s`` at the root, ``b`` at a leaf and is ignored (may be ``nan``) at an
        intermediary. ``products`` (per node) is optional; without it each customer buys one
        product named after it. Vectorized: fit for millions of nodes.

        Examples
        --------
        >>> t = IntermediationTree.from_arrays([-1, 0, 0, 1], [2.0, np.nan, 3.0, 4.0])
        >>> t.parent.tolist(), t.size.tolist(), t.surplus
        ([-1, 0, 1, 0], [4, 2, 1, 1], 5.0)
        >>> t.names
        ('0', '1', '3', '2')
        """
        par = np.asarray(parent)
        if par.ndim != 1 or par.size == 0:
            raise ModelError("parent must be a non-empty 1-d array")
        if not np.issubdtype(par.dtype, np.integer) and (
            not np.all(np.isfinite(par)) or not np.all(par == np.round(par))
        ):
            raise ModelError("parent must hold integer indices")
        par = par.astype(np.int64)
        n = par.size
        lim = np.asarray(limit, dtype=np.float64)
        if lim.shape != (n,):
            raise ModelError(f"limit must have one entry per node ({n}), not shape {lim.shape}")
        roots = np.flatnonzero(par == -1)
        if roots.size != 1:
            raise ModelError(f"parent must mark exactly one root with -1 (found {roots.size})")
        bad = np.flatnonzero((par < -1) | (par >= n))
        if bad.size:
            raise ModelError(f"node {bad[0]}: parent index {par[bad[0]]} out of range")
        selfloop = np.flatnonzero(par == np.arange(n))
        if selfloop.size:
            raise ModelError(f"node {selfloop[0]} is its own parent (a cycle)")
        root = int(roots[0])
        if n == 1:
            raise ModelError("the seller has no customers: a tree needs at least one edge")
        kids = np.flatnonzero(par >= 0)
        graph = sp.csr_array((np.ones(kids.size), (par[kids], kids)), shape=(n, n))
        visit = depth_first_order(graph, root, directed=True, return_predecessors=False)
        order: IntArray = np.asarray(visit, dtype=np.int64)
        if order.size != n:
            lost = np.setdiff1d(np.arange(n), order)
            raise ModelError(
                f"node {lost[0]} is not connected to the root: the parent links form a cycle"
            )
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        new_parent = np.full(n, -1, dtype=np.int64)
        new_parent[1:] = position[par[order[1:]]]
        new_limit = lim[order]
        new_names = None if names is None else tuple(str(names[i]) for i in order.tolist())
        if new_names is not None and len(set(new_names)) != n:
            dup = next(k for k, v in Counter(new_names).items() if v > 1)
            raise ModelError(f"node name {dup!r} is used twice")
        depth, size = _depth_and_size(new_parent)
        leaf = size == 1
        _check_limits(new_limit, leaf, new_names, order)
        new_products: tuple[tuple[Product, ...], ...] | None = None
        if products is not None:
            if len(products) != n:
                raise ModelError(f"products must have one entry per node ({n})")
            shown = new_names or tuple(str(i) for i in order.tolist())
            new_products = _check_products_arrays(
                [tuple(products[i]) for i in order.tolist()], new_parent, size, shown
            )
        limit_clean = np.where(leaf, new_limit, np.nan)
        limit_clean[0] = new_limit[0]
        return cls(new_parent, limit_clean, depth, size, name, new_names, new_products, order)

    @classmethod
    def _from_preorder(
        cls,
        parent: IntArray,
        limit: FloatArray,
        names: tuple[str, ...],
        products: tuple[tuple[Product, ...], ...] | None,
        name: str | None,
    ) -> IntermediationTree:
        depth, size = _depth_and_size(parent)
        return cls(parent, limit, depth, size, name, names, products)

    def to_networkx(self) -> Any:
        """The tree as a ``networkx.DiGraph`` with ``products`` and ``limit`` node attributes."""
        import networkx as nx

        g = nx.DiGraph()
        names = self.names
        for i in range(self.n):
            attrs: dict[str, Any] = {"products": list(self.products_of(i))}
            if i == 0 or self.is_leaf[i]:
                attrs["limit"] = float(self.limit[i])
            g.add_node(names[i], **attrs)
        for j in range(1, self.n):
            g.add_edge(names[int(self.parent[j])], names[j])
        return g

    def to_dict(self) -> dict[str, Any]:
        """The model document (``model: intermediation``) of this tree, as nested dicts."""
        names = self.names
        nodes: list[dict[str, Any]] = []
        for i in range(self.n):
            d: dict[str, Any] = {"name": names[i], "products": list(self.products_of(i))}
            if i == 0 or self.is_leaf[i]:
                d["limit"] = float(self.limit[i])
            nodes.append(d)
        for j in range(1, self.n):
            nodes[int(self.parent[j])].setdefault("children", []).append(nodes[j])
        doc: dict[str, Any] = {"model": "intermediation"}
        if self.name is not None:
            doc["name"] = self.name
        doc["tree"] = nodes[0]
        return doc


def _two_sum(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(s, e)`` with ``s = fl(a + b)`` and ``s + e = a + b`` exactly (Knuth), elementwise."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _bincount(bins: IntArray, weights: FloatArray, n: int) -> FloatArray:
    return np.bincount(bins, weights=weights, minlength=n).astype(np.float64, copy=False)


def _split_sums(values: FloatArray, bins: IntArray, n: int) -> tuple[FloatArray, FloatArray]:
    """Per bin, ``(hi, lo)`` with ``hi + lo`` the exact sum of ``values`` up to
    ``2^-104 m^2 Σ|values|`` (``m`` terms in the bin; Rump's error-free extraction).

    With ``σ`` a power of 2 above twice the bin's ``Σ|x|``, ``x_hi = (σ + x) − σ`` is ``x``
    rounded to a multiple of ``2^-53 σ`` and ``x_lo = x − x_hi`` is exact; every partial sum of
    the ``x_hi`` is such a multiple below ``σ`` in size, hence exact in any order; only the sum of
    the tiny ``x_lo`` rounds.
    """
    mag = _bincount(bins, np.abs(values), n)
    if not np.isfinite(mag).all():  # inf or nan: nothing exact to keep
        return _bincount(bins, values, n), np.zeros(n)
    # σ = 4 · 2^exponent(mag) > 2 mag: the exponent bits of mag, times 4 (0 for mag = 0 or
    # subnormal, where every partial sum is exact anyway)
    sigma = (mag.view(np.int64) & np.int64(0x7FF0000000000000)).view(np.float64) * 4.0
    sigma = sigma[bins]
    hi = sigma + values
    hi -= sigma
    lo = values - hi
    return _bincount(bins, hi, n), _bincount(bins, lo, n)


def bin_sums(values: ArrayLike, bins: ArrayLike, n: int) -> FloatArray:
    """``Σ values[k]`` over each bin ``bins[k] ∈ 0..n-1``, as the exact sum rounded once (up to
    ``2^-104 m^2 Σ|values|`` for a bin of ``m`` terms): vectorized like ``np.bincount``, exact
    like ``math.fsum``, whatever the cancellation.

    Examples
    --------
    >>> x = [1e16, 1.0, -1e16, 3.0, 0.1, 0.2]
    >>> np.bincount([0, 0, 0, 1, 1, 1], weights=x).tolist()
    [0.0, 3.3000000000000003]
    >>> bin_sums(x, [0, 0, 0, 1, 1, 1], 2).tolist()
    [1.0, 3.3]
    """
    hi, lo = _split_sums(np.asarray(values, dtype=np.float64), np.asarray(bins, dtype=np.int64), n)
    return hi + lo


def _depth_and_size(parent: IntArray) -> tuple[IntArray, IntArray]:
    """Depth and subtree size of every node of a preorder parent array, by pointer jumping
    (``O(n log height)`` vectorized work, no loop per node)."""
    n = parent.size
    idx = np.arange(n, dtype=np.int64)
    up = parent.copy()
    up[0] = 0
    depth = (parent >= 0).astype(np.int64)
    while np.any(up != 0):
        depth = depth + depth[up]
        up = up[up]
    last = idx.copy()  # the last child of each node (itself for a leaf)
    np.maximum.at(last, parent[1:], idx[1:])
    while True:
        nxt = last[last]
        if np.array_equal(nxt, last):
            break
        last = nxt
    return depth, last - idx + 1


def _check_limits(
    limit: FloatArray, leaf: BoolArray, names: tuple[str, ...] | None, original: IntArray
) -> None:
    need = leaf.copy()
    need[0] = True
    vals = limit[need]
    bad = ~np.isfinite(vals) | (vals < 0)
    if bad.any():
        i = int(np.flatnonzero(need)[np.flatnonzero(bad)[0]])
        who = names[i] if names is not None else str(original[i])
        role = "the seller" if i == 0 else "customer"
        raise ModelError(
            f"node {who!r}: {role} limit price must be a finite number >= 0, not {limit[i]}"
        )


def _check_products_arrays(
    products: list[tuple[Product, ...]],
    parent: IntArray,
    size: IntArray,
    nm: tuple[str, ...],
) -> tuple[tuple[Product, ...], ...]:
    kids: list[list[int]] = [[] for _ in products]
    for j in range(1, len(products)):
        kids[int(parent[j])].append(j)
    out = []
    for i, prods in enumerate(products):
        problem = partition_problem(prods, [products[k] for k in kids[i]], [nm[k] for k in kids[i]])
        if problem is not None:
            raise ModelError(f"node {nm[i]!r}: {problem}")
        out.append(tuple(sorted(set(prods), key=lambda p: (isinstance(p, str), p))))
    return tuple(out)


def partition_problem(
    products: Sequence[Product],
    child_products: Sequence[Sequence[Product]],
    child_names: Sequence[str],
) -> str | None:
    """What is wrong with ``child_products`` as a partition of ``products`` (None if nothing).

    Examples
    --------
    >>> partition_problem([1, 2, 3], [[1, 2], [2]], ["a", "b"])
    "product {2} is in more than one child ('a', 'b'); products {3} are in no child"
    >>> partition_problem([1, 2], [[1, 2]], ["a"]) is None
    True
    """
    if len(products) == 0:
        return "products must not be empty"
    seen: set[Product] = set()
    for p in products:
        if p in seen:
            return f"product {p} is listed twice"
        seen.add(p)
    if not child_products:
        return None
    owner: dict[Product, list[str]] = {}
    problems = []
    for prods, nm in zip(child_products, child_names, strict=True):
        for p in dict.fromkeys(prods):
            owner.setdefault(p, []).append(nm)
    extra = [p for p in owner if p not in seen]
    if extra:
        who = sorted({n for p in extra for n in owner[p]})
        listed = ", ".join(repr(w) for w in who)
        problems.append(
            f"children ({listed}) have products {format_products(extra)} that this node lacks"
        )
    doubled = [p for p, who in owner.items() if len(who) > 1]
    if doubled:
        who = sorted({n for p in doubled for n in owner[p]})
        listed = ", ".join(repr(w) for w in who)
        word = "product" if len(doubled) == 1 else "products"
        problems.append(f"{word} {format_products(doubled)} is in more than one child ({listed})")
    missing = [p for p in products if p not in owner]
    if missing:
        problems.append(f"products {format_products(missing)} are in no child")
    return "; ".join(problems) if problems else None


def build_tree(
    root: Mapping[str, Any],
    *,
    place: Place = ("tree",),
    error: ErrorFactory = _plain_error,
    name: str | None = None,
) -> IntermediationTree:
    """Build and validate (Definition 1) a tree from a nested node mapping.

    Parameters
    ----------
    root : mapping
        The seller: keys ``name``, ``products``, ``limit`` (``s``) and ``children``, each child a
        mapping of the same form (``limit`` is ``b`` at a customer, absent at an intermediary).
        Key types are taken as given: data from users is schema-checked first
        (:func:`treemarket.io.intermediation_file.tree_from_data`).
    place : tuple
        Where ``root`` sits in its document, for the error messages.
    error : callable
        ``error(place, message)`` makes the exception raised for a violation; by default a
        :class:`~treemarket.errors.ModelError` naming the place.
    name : str, optional
        The model's name.

    Examples
    --------
    >>> build_tree({"name": "S", "products": [1], "limit": 1,
    ...             "children": [{"name": "S", "products": [1], "limit": 5}]})
    Traceback (most recent call last):
    ...
    treemarket.errors.ModelError: tree.children[0].name: node name 'S' is used twice (first at tree)
    """
    names: list[str] = []
    parents: list[int] = []
    limits: list[float] = []
    prods: list[tuple[Product, ...]] = []
    places: list[Place] = []
    first_place: dict[str, Place] = {}
    stack: list[tuple[Mapping[str, Any], Place, int]] = [(root, place, -1)]
    while stack:
        node, where, par = stack.pop()
        nm = str(node["name"])
        if nm in first_place:
            raise error(
                (*where, "name"),
                f"node name {nm!r} is used twice (first at {format_place(first_place[nm])})",
            )
        first_place[nm] = where
        index = len(names)
        names.append(nm)
        parents.append(par)
        places.append(where)
        products = tuple(node.get("products") or ())
        problem = partition_problem(products, [], [])
        if problem is not None:
            raise error((*where, "products"), f"node {nm!r}: {problem}")
        prods.append(products)
        kids = list(node.get("children") or [])
        lim = node.get("limit")
        if par == -1:
            if lim is None:
                raise error(where, f"the seller {nm!r} (the root) needs its limit price s (limit)")
            if not kids:
                raise error(where, f"the seller {nm!r} has no children: nothing is sold")
        elif kids and lim is not None:
            raise error(
                (*where, "limit"),
                f"intermediary {nm!r} must not carry a limit price (only the seller and the "
                "customers do)",
            )
        elif not kids and lim is None:
            raise error(where, f"customer {nm!r} (a leaf) needs a limit price b (limit)")
        if lim is not None and (not math.isfinite(float(lim)) or float(lim) < 0):
            raise error((*where, "limit"), f"node {nm!r}: limit must be a finite number >= 0")
        limits.append(float(lim) if lim is not None else math.nan)
        if kids:
            problem = partition_problem(
                products,
                [tuple(k.get("products") or ()) for k in kids],
                [str(k["name"]) for k in kids],
            )
            if problem is not None:
                raise error((*where, "children"), f"node {nm!r}: {problem}")
        for pos in range(len(kids) - 1, -1, -1):
            stack.append((kids[pos], (*where, "children", pos), index))
    parent = np.asarray(parents, dtype=np.int64)
    limit = np.asarray(limits, dtype=np.float64)
    canon = tuple(tuple(sorted(p, key=lambda q: (isinstance(q, str), q))) for p in prods)
    return IntermediationTree._from_preorder(parent, limit, tuple(names), canon, name)
