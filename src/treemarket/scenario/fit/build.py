"""Build a scenario tree from observed paths, and route paths (old or new) down it.

Both methods first lay a *skeleton*: at every time t, the children of each node with a centre
(a point in feature space). Then every path is routed by the one rule, at each step the nearest
child of the node it is at (on the features of its observation at t, or of its history with
``history=True``), and the tree is what the routed data says: a node's probability is the share
of the paths at it, its state the mean of theirs. Held-out paths follow the same rule, so the
in-sample paths land exactly where the tree counted them.

* ``cluster``: stagewise clustering into the branching (k_0, ..., k_{T−1}): within each node's
  paths, the observations at t + 1 are clustered into k_t groups by k-means (SciPy's
  ``kmeans2``, k-means++ starts, a fixed seed); a node whose paths show fewer than k_t distinct
  observations gets one child per distinct observation. Why SciPy's k-means and not
  scikit-learn's: SciPy is already a pinned dependency (``scipy==1.17.1``), ``kmeans2`` is
  deterministic given its ``rng``, and a tree of 10^4 nodes means thousands of small
  clusterings, where a light call matters (a few milliseconds each in the benchmark);
  scikit-learn would be a large new dependency for one function (not measured here). The
  routing then re-assigns every path to its nearest centre, so ``kmeans2``'s own labels are
  not used.
* ``reduce``: forward selection (Heitsch–Römisch) keeps ``scenarios`` whole paths (default: the
  product of the branching), then the fan of kept paths is merged stage by stage, backward from
  T − 1: the distinct histories up to t are reduced by forward selection to Π_{s<t} k_s, and each
  removed history takes the one of its nearest kept history.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.cluster.vq import kmeans2

from treemarket.errors import ModelError
from treemarket.scenario.fit.data import PathData, Scaler
from treemarket.scenario.fit.distance import MAX_MATRIX, fan, nested_distance, transport
from treemarket.scenario.fit.reduce import (
    MAX_SCENARIOS,
    backward_reduction,
    forward_selection,
    path_cost,
)
from treemarket.scenario.tree import ScenarioTree

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Method = Literal["cluster", "reduce"]
METHODS: tuple[str, ...] = ("cluster", "reduce")
ROUTE_CHUNK = 20_000
JOINT_W1_LIMIT = 100_000  # the joint W1 LP: at most this many (data point, node) pairs


@dataclass(frozen=True, eq=False)
class StageDistances:
    """How far the tree is from the data.

    Attributes
    ----------
    w1 : list of dict
        Per time t, per variable: the Wasserstein-1 distance between the data's marginal and
        the tree's (the nodes of t with their probabilities and states), in the variable's units
        (``scipy.stats.wasserstein_distance``; for a categorical variable the total variation).
    joint : list of float or None
        Per time t, W1 of all the variables together in the standardised features (Euclidean
        cost, the exact transport LP); None where skipped (too many pairs).
    nested : float or None
        The nested distance between the data (a fan of paths) and the tree, in the standardised
        features; None when skipped, with the reason in ``notes``.
    """

    w1: list[dict[str, float]]
    joint: list[float | None]
    nested: float | None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"w1": self.w1, "joint": self.joint, "nested": self.nested, "notes": self.notes}


@dataclass(frozen=True, eq=False)
class FittedTree:
    """A scenario tree fitted to paths, the state it stands for at each node, and the paths it
    stands for.

    Attributes
    ----------
    tree : ScenarioTree
        One scenario per leaf, named ``s1, s2, ...``; node labels from the data (see
        :func:`fit_tree`), so ``tree.node_names()`` reads like ``dry 0 → wet 8.1``.
    state : (N, V) float
        Each node's representative state: the probability-weighted mean of its paths'
        observations at its time (a categorical variable: the most probable category's code).
    path_node : (P, T + 1) int
        The node of every training path at every time.
    centers : list of (n_t, F) arrays
        The routing centres of the nodes of each time, in node order.
    scaler : Scaler
    history : bool
        Whether the routing looks at the whole history (else at the observation at t).
    method : str
    branching : tuple of int
    path_prob : (P,) float
        The training paths' probabilities.
    notes : list of str
        What the data did not allow (fewer children than asked, and where).
    """

    tree: ScenarioTree
    state: FloatArray
    path_node: IntArray
    centers: list[FloatArray]
    scaler: Scaler
    history: bool
    method: str
    branching: tuple[int, ...]
    path_prob: FloatArray
    notes: list[str] = field(default_factory=list)

    @property
    def variables(self) -> tuple[str, ...]:
        return self.scaler.variables

    def route(self, data: PathData | ArrayLike) -> IntArray:
        """The nodes of (Q, T + 1, V) paths as they unfold: at each step the nearest child.

        Returns (Q, T + 1) node indices; the training paths get :attr:`path_node` back.
        """
        states = data.states if isinstance(data, PathData) else np.asarray(data, dtype=float)
        if states.ndim == 2:
            states = states[:, :, None]
        if states.shape[1:] != (self.tree.horizon + 1, len(self.variables)):
            raise ValueError(
                f"paths must be (Q, {self.tree.horizon + 1}, {len(self.variables)}), got "
                f"{states.shape}"
            )
        return _route(self.tree, self.centers, self.scaler, states, self.history)

    def node_mean(self, x: ArrayLike) -> FloatArray:
        """E[x | node] for per-path quantities x (P,) or (P, K): the probability-weighted mean
        over the training paths at each node -> (N,) or (N, K)."""
        return _node_mean(self.tree, self.path_node, self.path_prob, x)

    def leaf_values(self, x: ArrayLike, prob: ArrayLike | None = None) -> FloatArray:
        """Per-path values (P, K) -> the scenarios' values (K, S): each leaf's mean."""
        values = np.asarray(x, dtype=np.float64)
        flat = values.reshape(values.shape[0], -1)
        leaves = self.path_node[:, -1] - self.tree.level_offsets[-2]
        p = self.path_prob if prob is None else np.asarray(prob, dtype=np.float64)
        sums = np.stack(
            [np.bincount(leaves, weights=p * col, minlength=self.tree.n_leaves) for col in flat.T]
        )
        return sums / self.tree.prob[self.tree.leaves]

    def distances(self, data: PathData, nested: bool = True) -> StageDistances:
        """The per-stage W1 distances and the nested distance between ``data`` and the tree."""
        return stage_distances(self, data, nested=nested)

    def to_json(self) -> dict[str, Any]:
        """The tree with its node names, probabilities, states and path counts."""
        names = self.tree.node_names()
        counts = np.bincount(self.path_node.ravel(), minlength=self.tree.n_nodes)
        return {
            "method": self.method,
            "branching": list(self.branching),
            "variables": list(self.variables),
            "nodes": [
                {
                    "name": names[n],
                    "parent": int(self.tree.parent[n]),
                    "time": int(self.tree.time[n]),
                    "probability": float(self.tree.prob[n]),
                    "paths": int(counts[n]),
                    "state": {v: self._state_value(n, k) for k, v in enumerate(self.variables)},
                }
                for n in range(self.tree.n_nodes)
            ],
            "notes": self.notes,
        }

    def _state_value(self, node: int, v: int) -> float | str:
        cats = self.scaler.categories.get(self.variables[v])
        x = float(self.state[node, v])
        return cats[int(x)] if cats is not None else x


def fit_tree(
    data: PathData,
    branching: Sequence[int],
    *,
    method: Method = "cluster",
    scenarios: int | None = None,
    tolerance: float | None = None,
    history: bool = False,
    seed: int = 0,
    words: Mapping[str, Sequence[str]] | None = None,
    reduction: Literal["forward", "backward"] = "forward",
) -> FittedTree:
    """Fit a scenario tree with the given branching to observed paths.

    Parameters
    ----------
    data : PathData
        P paths observed at t = 0..T (T = ``len(branching)``).
    branching : sequence of T ints
        k_t children per node of time t (``cluster``); for ``reduce``, Π_{s<t} k_s is the
        number of nodes of time t (at most).
    method : {"cluster", "reduce"}
    scenarios, tolerance : optional
        ``reduce`` only: keep this many whole paths (default Π k_t), or as few as keep the
        Kantorovich distance ≤ ``tolerance``.
    history : bool
        Route (and cluster) on the whole history up to t instead of the observation at t.
    seed : int
        The k-means seed: the same data, branching and seed give the same tree.
    words : dict, optional
        ``{variable: [word, ...]}``: a node's label for the variable is the word of the
        quantile bin (of the data at its time, equal-probability bins) its state falls in,
        then the value, e.g. ``wet 8.1``; without words the variable's name and the value
        (``precipitation 8.1``); a categorical variable's label is its category.
    reduction : {"forward", "backward"}
        ``reduce`` only: fast forward selection or simultaneous backward reduction.

    Raises
    ------
    ModelError
        A branching the data cannot support: more leaves than paths, or k_t larger than the
        number of distinct observations at time t + 1 in the whole data.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> paths = np.cumsum(rng.normal(size=(500, 3)), axis=1)
    >>> fitted = fit_tree(PathData.from_array(paths, ["x"]), [3, 2])
    >>> fitted.tree.n_nodes, fitted.tree.n_leaves
    (10, 6)
    >>> round(float(fitted.tree.prob[fitted.tree.leaves].sum()), 12)
    1.0
    """
    ks = tuple(int(k) for k in branching)
    _check_branching(data, ks)
    if method not in METHODS:
        raise ModelError(f"unknown method {method!r}; choose cluster or reduce", place="method")
    scaler = Scaler.fit(data)
    feats = [scaler.stage_features(data.states, t, history) for t in range(data.horizon + 1)]
    notes: list[str] = []
    if method == "cluster":
        rng = np.random.default_rng(seed)
        centers, counts = _cluster_skeleton(feats, ks, rng, notes)
    else:
        centers, counts = _reduce_skeleton(
            data, scaler, feats, ks, scenarios, tolerance, history, reduction, notes
        )
    skeleton = _Skeleton(centers, counts)
    path_skel = skeleton.route(feats)
    tree, path_node, order = _tree_from_routes(path_skel, data.prob)
    node_centers = [
        centers[t][order[t]] for t in range(data.horizon + 1)
    ]  # centres in tree node order
    state = _states(tree, path_node, data)
    labels = _labels(tree, state, data, words or {})
    tree = replace(tree, labels=labels, _cache={})
    return FittedTree(
        tree=tree,
        state=state,
        path_node=path_node,
        centers=node_centers,
        scaler=scaler,
        history=history,
        method=method,
        branching=ks,
        path_prob=data.prob,
        notes=notes,
    )


def _check_branching(data: PathData, ks: tuple[int, ...]) -> None:
    horizon = data.horizon
    if len(ks) != horizon:
        raise ModelError(
            f"needs {horizon} numbers (one per step t = 0..{horizon - 1}), got {len(ks)}",
            place="branching",
        )
    for t, k in enumerate(ks):
        if k < 1:
            raise ModelError(f"must be ≥ 1, got {k}", place=f"branching[{t}]")
    leaves = int(np.prod(ks, dtype=np.int64))
    if leaves > data.n_paths:
        raise ModelError(
            f"asks for {leaves} scenarios but the data has {data.n_paths} paths",
            place="branching",
        )
    for t, k in enumerate(ks):
        distinct = np.unique(data.states[:, t + 1, :], axis=0).shape[0]
        if k > distinct:
            raise ModelError(
                f"asks for {k} children but the data has {distinct} distinct "
                f"observations at time {t + 1}",
                place=f"branching[{t}]",
            )


@dataclass
class _Skeleton:
    """Centres per time; ``counts[t][q]``: children of node q of time t (contiguous)."""

    centers: list[FloatArray]
    counts: list[IntArray]

    def route(self, feats: list[FloatArray]) -> IntArray:
        n = feats[0].shape[0]
        out = np.zeros((n, len(feats)), dtype=np.int64)
        for t in range(1, len(feats)):
            counts = self.counts[t - 1]
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            out[:, t] = _nearest_child(feats[t], out[:, t - 1], self.centers[t], starts, counts)
        return out


def _nearest_child(
    x: FloatArray, at: IntArray, centers: FloatArray, starts: IntArray, counts: IntArray
) -> IntArray:
    """For each row, the nearest centre among the children [starts[at], starts[at] + counts[at])
    (ties: the first)."""
    out = np.empty(x.shape[0], dtype=np.int64)
    width = int(counts.max()) if counts.size else 1
    offsets = np.arange(width)
    for lo in range(0, x.shape[0], ROUTE_CHUNK):
        hi = min(lo + ROUTE_CHUNK, x.shape[0])
        s = starts[at[lo:hi]][:, None]
        valid = offsets[None, :] < counts[at[lo:hi]][:, None]
        cand = np.where(valid, s + offsets[None, :], s)
        d = ((x[lo:hi, None, :] - centers[cand]) ** 2).sum(axis=-1)
        d[~valid] = np.inf
        out[lo:hi] = cand[np.arange(hi - lo), np.argmin(d, axis=1)]
    return out


def _groups(at: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Rows sorted by their node: (order, nodes, starts, stops) of each node's block."""
    order = np.argsort(at, kind="stable")
    sorted_at = at[order]
    cut = np.flatnonzero(np.diff(sorted_at)) + 1
    starts = np.concatenate([[0], cut]).astype(np.int64)
    stops = np.concatenate([cut, [at.shape[0]]]).astype(np.int64)
    return order, sorted_at[starts], starts, stops


def _cluster_skeleton(
    feats: list[FloatArray], ks: tuple[int, ...], rng: np.random.Generator, notes: list[str]
) -> tuple[list[FloatArray], list[IntArray]]:
    centers = [feats[0].mean(axis=0, keepdims=True)]
    counts: list[IntArray] = []
    at = np.zeros(feats[0].shape[0], dtype=np.int64)
    for t, k in enumerate(ks):
        x = feats[t + 1]
        order, nodes, starts, stops = _groups(at)
        n_here = centers[t].shape[0]
        kids = np.zeros(n_here, dtype=np.int64)
        parts: list[FloatArray] = [np.empty((0, x.shape[1]))] * n_here
        short = 0
        for q, a, b in zip(nodes.tolist(), starts.tolist(), stops.tolist(), strict=True):
            xs = x[order[a:b]]
            distinct = _sorted_distinct(xs, k)
            if distinct is not None:
                code = distinct
                short += distinct.shape[0] < k
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # an empty cluster: fewer children
                    code, _ = kmeans2(xs, k, minit="++", rng=rng, check_finite=False)
                kept = _sorted_distinct(code, k)
                assert kept is not None  # at most k centres
                code = kept
            parts[q] = code
            kids[q] = code.shape[0]
        if short:
            notes.append(
                f"time {t + 1}: {short} of {nodes.size} nodes have fewer than {k} distinct "
                "observations and as many children as they have"
            )
        counts.append(kids)
        centers.append(np.concatenate(parts))
        starts_all = np.concatenate([[0], np.cumsum(kids)[:-1]])
        at = _nearest_child(x, at, centers[t + 1], starts_all, kids)
    return centers, counts


def _sorted_distinct(x: FloatArray, limit: int) -> FloatArray | None:
    """The distinct rows of x in lexicographic order, or None when there are more than
    ``limit`` (``np.unique(x, axis=0)`` without its overhead: this runs once per node)."""
    if x.shape[0] == 0:
        return x
    order = np.lexsort(x.T[::-1])
    xs = x[order]
    new = np.ones(xs.shape[0], dtype=bool)
    new[1:] = (xs[1:] != xs[:-1]).any(axis=1)
    if int(new.sum()) > limit:
        return None
    return xs[new]


def _reduce_skeleton(
    data: PathData,
    scaler: Scaler,
    feats: list[FloatArray],
    ks: tuple[int, ...],
    scenarios: int | None,
    tolerance: float | None,
    history: bool,
    reduction: str,
    notes: list[str],
) -> tuple[list[FloatArray], list[IntArray]]:
    if data.n_paths > MAX_SCENARIOS:
        raise ModelError(
            f"the reduce method works on at most {MAX_SCENARIOS} paths (a P × P cost matrix), "
            f"got {data.n_paths}; use the cluster method",
            place="method",
        )
    obs = scaler.transform(data.states)  # (P, T + 1, F)
    cost = path_cost(obs)
    size = int(np.prod(ks)) if scenarios is None else int(scenarios)
    reducer = forward_selection if reduction == "forward" else backward_reduction
    red = reducer(cost, data.prob, n=size, tolerance=tolerance)
    notes.append(
        f"{reduction} reduction kept {red.kept.size} of {data.n_paths} paths "
        f"(Kantorovich distance {red.distance:.4g})"
    )
    kept_obs = obs[red.kept]
    prob = red.prob
    # history id of each kept path at each time, merged backward stage by stage
    horizon = data.horizon
    hist = np.repeat(np.arange(red.kept.size)[:, None], horizon + 1, axis=1)
    hist[:, 0] = 0
    for t in range(horizon - 1, 0, -1):
        target = int(np.prod(ks[:t]))
        ids, first, inverse = np.unique(hist[:, t], return_index=True, return_inverse=True)
        if ids.size > target:
            reps = kept_obs[first, : t + 1]
            mass = np.bincount(inverse, weights=prob)
            sub = forward_selection(path_cost(reps), mass, n=target)
            winner = first[sub.kept[sub.assignment]]  # the kept row standing for each history
            rows = winner[inverse]
            hist[:, : t + 1] = hist[rows, : t + 1]
            kept_obs[:, : t + 1] = kept_obs[rows, : t + 1]
    # the skeleton: per time, the distinct (parent, history) nodes and their centres
    center_of = [scaler.transform(data.states[:, 0, :]).mean(axis=0, keepdims=True)]
    counts: list[IntArray] = []
    parent_id = np.zeros(red.kept.size, dtype=np.int64)
    for t in range(1, horizon + 1):
        feat = kept_obs[:, : t + 1].reshape(red.kept.size, -1) if history else kept_obs[:, t]
        keys = np.concatenate([parent_id[:, None].astype(np.float64), feat], axis=1)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        parents = uniq[:, 0].astype(np.int64)
        counts.append(np.bincount(parents, minlength=center_of[t - 1].shape[0]))
        center_of.append(uniq[:, 1:])
        parent_id = inverse.ravel().astype(np.int64)
    return center_of, counts


def _tree_from_routes(
    path_skel: IntArray, prob: FloatArray
) -> tuple[ScenarioTree, IntArray, list[IntArray]]:
    """The tree of the routed data (one scenario per distinct history), the tree node of every
    path and time, and per time the skeleton id of each tree node."""
    hists, inverse = np.unique(path_skel, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    mass = np.bincount(inverse, weights=prob, minlength=hists.shape[0])
    tree, order = ScenarioTree.from_paths(hists, mass)
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    names = [f"s{k + 1}" for k in position.tolist()]
    tree = replace(tree, scenario_names=np.asarray(names, dtype=object)[order], _cache={})
    anc = tree.ancestors  # leaf k (= scenario k) -> its nodes
    path_node = anc[position[inverse]]
    skel_of = []
    for t in range(hists.shape[1]):
        level = tree.level(t)
        ids = np.empty(level.stop - level.start, dtype=np.int64)
        ids[anc[:, t] - level.start] = hists[order, t]
        skel_of.append(ids)
    return tree, path_node, skel_of


def _node_mean(
    tree: ScenarioTree, path_node: IntArray, prob: FloatArray, x: ArrayLike
) -> FloatArray:
    values = np.asarray(x, dtype=np.float64)
    flat = values.reshape(values.shape[0], -1)
    out = np.zeros((tree.n_nodes, flat.shape[1]))
    for t in range(path_node.shape[1]):
        for k in range(flat.shape[1]):
            out[:, k] += np.bincount(
                path_node[:, t], weights=prob * flat[:, k], minlength=tree.n_nodes
            )
    out /= tree.prob[:, None]
    return out.reshape(tree.n_nodes, *values.shape[1:])


def _states(tree: ScenarioTree, path_node: IntArray, data: PathData) -> FloatArray:
    """Each node's representative: the weighted mean of its paths' observations (categorical:
    the most probable category)."""
    p = data.prob
    state = np.zeros((tree.n_nodes, len(data.variables)))
    mass = np.zeros(tree.n_nodes)
    for t in range(data.horizon + 1):
        mass += np.bincount(path_node[:, t], weights=p, minlength=tree.n_nodes)
    for v, name in enumerate(data.variables):
        cats = data.categories.get(name)
        if cats is None:
            total = np.zeros(tree.n_nodes)
            for t in range(data.horizon + 1):
                total += np.bincount(
                    path_node[:, t], weights=p * data.states[:, t, v], minlength=tree.n_nodes
                )
            state[:, v] = total / mass
        else:
            k = len(cats)
            votes = np.zeros(tree.n_nodes * k)
            for t in range(data.horizon + 1):
                idx = path_node[:, t] * k + data.states[:, t, v].astype(np.int64)
                votes += np.bincount(idx, weights=p, minlength=tree.n_nodes * k)
            state[:, v] = votes.reshape(tree.n_nodes, k).argmax(axis=1)
    return state


def _labels(
    tree: ScenarioTree, state: FloatArray, data: PathData, words: Mapping[str, Sequence[str]]
) -> NDArray[np.object_]:
    """Readable node labels from the representatives (see :func:`fit_tree`); siblings with the
    same label get ``#2``, ``#3``, ... after it."""
    unknown = [w for w in words if w not in data.variables or w in data.categories]
    if unknown:
        raise ModelError(f"no numeric variable {unknown[0]!r}", place="words")
    parts: list[list[str]] = [[] for _ in range(tree.n_nodes)]
    for v, name in enumerate(data.variables):
        cats = data.categories.get(name)
        values = state[:, v]
        if cats is not None:
            texts = [cats[int(x)] for x in values.tolist()]
        elif name in words:
            bins = list(words[name])
            texts = []
            edges = [
                np.quantile(data.states[:, t, v], np.arange(1, len(bins)) / len(bins))
                for t in range(data.horizon + 1)
            ]
            for node, x in enumerate(values.tolist()):
                # at most the quantile (to rounding) is the lower word
                below = x - 1e-9 * max(1.0, abs(x))
                k = int(np.searchsorted(edges[int(tree.time[node])], below, side="left"))
                texts.append(f"{bins[min(k, len(bins) - 1)]} {_short(x)}")
        else:
            texts = [f"{name} {_short(x)}" for x in values.tolist()]
        for node, text in enumerate(texts):
            parts[node].append(text)
    labels = np.array([", ".join(p) for p in parts], dtype=object)
    if tree.level_offsets[1] == 1:
        labels[0] = None  # the lone root: "root", left out of its descendants' names
    seen: dict[tuple[int, str], int] = {}
    for node in range(tree.n_nodes):
        key = (int(tree.parent[node]), str(labels[node]))
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            labels[node] = f"{labels[node]} #{seen[key]}"
    return labels


def _short(x: float) -> str:
    """Three significant digits, never ``-0``."""
    return f"{x + 0.0:.3g}"


def _route(
    tree: ScenarioTree,
    centers: list[FloatArray],
    scaler: Scaler,
    states: FloatArray,
    history: bool,
) -> IntArray:
    n = states.shape[0]
    out = np.empty((n, tree.horizon + 1), dtype=np.int64)
    roots = tree.level(0)
    out[:, 0] = roots.start  # a fitted tree has one root
    for t in range(1, tree.horizon + 1):
        x = scaler.stage_features(states, t, history)
        here = tree.level(t - 1)
        start = tree.child_start[here] - tree.level_offsets[t]
        kids = tree.n_children[here]
        local = _nearest_child(x, out[:, t - 1] - here.start, centers[t], start, kids)
        out[:, t] = local + tree.level_offsets[t]
    return out


def stage_distances(fitted: FittedTree, data: PathData, nested: bool = True) -> StageDistances:
    """W1 per stage and variable, the joint W1 per stage and the nested distance between
    ``data`` (e.g. the training paths, or held-out ones) and the fitted tree."""
    tree = fitted.tree
    p = data.prob
    w1: list[dict[str, float]] = []
    joint: list[float | None] = []
    from scipy.stats import wasserstein_distance  # scipy.stats takes most of a second to load

    notes: list[str] = []
    scaler = fitted.scaler
    for t in range(tree.horizon + 1):
        level = tree.level(t)
        q = tree.prob[level]
        row: dict[str, float] = {}
        for v, name in enumerate(fitted.variables):
            cats = scaler.categories.get(name)
            if cats is None:
                row[name] = float(
                    wasserstein_distance(data.states[:, t, v], fitted.state[level, v], p, q)
                )
            else:
                k = len(cats)
                share = np.bincount(data.states[:, t, v].astype(np.int64), weights=p, minlength=k)
                tree_share = np.bincount(
                    fitted.state[level, v].astype(np.int64), weights=q, minlength=k
                )
                row[name] = float(0.5 * np.abs(share - tree_share).sum())
        w1.append(row)
        x, a = _merged(scaler.transform(data.states[:, t, :]), p)
        y = scaler.transform(fitted.state[level])
        if x.shape[0] * y.shape[0] > JOINT_W1_LIMIT:
            joint.append(None)
            notes.append(
                f"joint W1 at time {t} skipped: {x.shape[0]} × {y.shape[0]} pairs > "
                f"{JOINT_W1_LIMIT}"
            )
        else:
            joint.append(transport(a, q, _euclid(x, y)))
    value: float | None = None
    if nested:
        feats = scaler.transform(data.states)
        pairs = data.n_paths * int(np.max(np.diff(tree.level_offsets)))
        if pairs > MAX_MATRIX:
            notes.append(f"nested distance skipped: {pairs} path × node pairs > {MAX_MATRIX}")
        else:
            data_tree, data_state = fan(feats, p)
            value = nested_distance(data_tree, data_state, tree, scaler.transform(fitted.state))
    return StageDistances(w1, joint, value, notes)


def _merged(x: FloatArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Equal points merged, their probabilities added."""
    uniq, inverse = np.unique(x, axis=0, return_inverse=True)
    mass = np.bincount(inverse.ravel(), weights=p, minlength=uniq.shape[0]).astype(np.float64)
    return uniq, mass


def _euclid(x: FloatArray, y: FloatArray) -> FloatArray:
    from scipy.spatial.distance import cdist

    return cdist(x, y)
