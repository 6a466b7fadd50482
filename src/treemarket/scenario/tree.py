"""The scenario tree as a few numpy arrays.

A node is a block (an *event*) of the partition F(t) of the scenarios Ω. Nodes are stored level by
level (all of time 0, then all of time 1, ...) and, within a level, in the order of their events, so
that

* the children of a node are contiguous in the next level, and
* the scenarios of every node's event are a contiguous range ``[event_start, event_stop)`` of the
  scenario order.

Every leaf is at depth T. A leaf may hold several scenarios (when F(T) is coarser than Ω); the
exercise values of a leaf are then their conditional expectation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ScenarioTree:
    """A filtration F(0) ⊆ ... ⊆ F(T) on a finite Ω, as arrays over nodes and scenarios.

    Attributes
    ----------
    parent : (N,) int
        Index of the parent node; -1 for the nodes of time 0.
    time : (N,) int
        Trading time t of the node.
    prob : (N,) float
        Absolute probability P(event) of the node.
    cond_prob : (N,) float
        Probability conditional on the parent (equal to ``prob`` at time 0).
    event_start, event_stop : (N,) int
        The node's event is the scenarios ``scenario_names[event_start:event_stop]``.
    level_offsets : (T + 2,) int
        The nodes of time t are ``level_offsets[t]:level_offsets[t + 1]``.
    scenario_names : (S,) object
        Scenario names in tree order.
    scenario_prob : (S,) float
        P(ω) in tree order.
    labels : (N,) object or None
        Optional node labels (e.g. the forecast that leads there).

    Examples
    --------
    >>> tree = ScenarioTree.from_partitions(
    ...     [[["FC", "CF", "CR", "RC"]], [["FC", "CF"], ["CR", "RC"]],
    ...      [["FC"], ["CF"], ["CR"], ["RC"]]],
    ...     {"FC": 0.25, "CF": 0.25, "CR": 0.25, "RC": 0.25})
    >>> tree.n_nodes, tree.horizon
    (7, 2)
    >>> tree.parent.tolist()
    [-1, 0, 0, 1, 1, 2, 2]
    >>> tree.event(1)
    ['CF', 'FC']
    """

    parent: IntArray
    time: IntArray
    prob: FloatArray
    cond_prob: FloatArray
    event_start: IntArray
    event_stop: IntArray
    level_offsets: IntArray
    scenario_names: NDArray[np.object_]
    scenario_prob: FloatArray
    labels: NDArray[np.object_] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ shape
    @property
    def n_nodes(self) -> int:
        """Number of nodes N."""
        return int(self.parent.shape[0])

    @property
    def horizon(self) -> int:
        """The exercise time T (the depth of every leaf)."""
        return int(self.level_offsets.shape[0] - 2)

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios |Ω|."""
        return int(self.scenario_names.shape[0])

    def level(self, t: int) -> slice:
        """The slice of node indices at time ``t``."""
        return slice(int(self.level_offsets[t]), int(self.level_offsets[t + 1]))

    @property
    def leaves(self) -> IntArray:
        """Indices of the nodes of time T."""
        return np.arange(self.level_offsets[-2], self.level_offsets[-1], dtype=np.int64)

    @property
    def n_leaves(self) -> int:
        return int(self.level_offsets[-1] - self.level_offsets[-2])

    def event(self, node: int) -> list[str]:
        """The sorted scenario names of ``node``'s event."""
        return sorted(self.scenario_names[self.event_start[node] : self.event_stop[node]].tolist())

    def events(self) -> list[list[str]]:
        """Sorted scenario names of every node's event, in node order."""
        names = self.scenario_names.tolist()
        return [
            sorted(names[a:b])
            for a, b in zip(self.event_start.tolist(), self.event_stop.tolist(), strict=True)
        ]

    def node_names(self) -> list[str]:
        """A readable name for every node, in node order.

        With node labels (tree files, sampled paths) the labels along the path from the root,
        joined by " → " (nodes without a label show their event when it is short, else their
        place among their siblings, "#k"); without labels (the filtration form) the event when
        it has at most six scenarios, else the parent's name and "#k". A lone root without a
        label is "root" and left out of its descendants' names.

        Examples
        --------
        >>> tree = ScenarioTree.from_partitions(
        ...     [[["a", "b"]], [["a"], ["b"]]], {"a": 0.5, "b": 0.5})
        >>> tree.node_names()
        ['{a, b}', 'a', 'b']
        >>> paths, _ = ScenarioTree.from_paths(
        ...     [["now", "up"], ["now", "down"]], label_states=True)
        >>> paths.node_names()
        ['now', 'now → down', 'now → up']
        """
        if "node_names" in self._cache:
            return list(self._cache["node_names"])
        labels = self.labels
        starts, stops = self.event_start.tolist(), self.event_stop.tolist()
        names_of = self.scenario_names
        parents = self.parent.tolist()
        first_child = np.zeros(self.n_nodes, dtype=np.int64)
        has_parent = self.parent >= 0
        first_child[has_parent] = self.child_start[self.parent[has_parent]]
        sibling = (np.arange(self.n_nodes) - first_child + 1).tolist()
        lone_root = self.level_offsets[1] == 1
        short = 6 if labels is None else 2  # events listed in a name up to this size
        out: list[str] = []
        for node in range(self.n_nodes):
            label = None if labels is None else labels[node]
            size = stops[node] - starts[node]
            if label is not None:
                part = str(label)
            elif size == 1:
                part = str(names_of[starts[node]])
            elif size <= short:
                part = "{" + ", ".join(sorted(names_of[starts[node] : stops[node]].tolist())) + "}"
            elif parents[node] < 0:
                part = "root" if lone_root else f"#{node + 1}"
            else:
                part = f"#{sibling[node]}"
            parent = parents[node]
            names_itself = labels is None and size <= short  # a short event needs no path
            below_plain_root = parent == 0 and out[0] == "root"
            if parent < 0 or names_itself or below_plain_root:
                out.append(part)
            else:
                out.append(f"{out[parent]} → {part}")
        self._cache["node_names"] = out
        return list(out)

    # ------------------------------------------------------------ structure
    @property
    def child_start(self) -> IntArray:
        """For every non-leaf node, the index of its first child (children are contiguous)."""
        if "child_start" not in self._cache:
            inner = self.level_offsets[-2]
            kids = self.parent[self.level_offsets[1] :]
            # the first child of each parent is where the parent index changes
            first = np.searchsorted(kids, np.arange(inner), side="left") + self.level_offsets[1]
            self._cache["child_start"] = first.astype(np.int64)
        return self._cache["child_start"]

    @property
    def n_children(self) -> IntArray:
        """Number of children of each node (0 at the leaves)."""
        if "n_children" not in self._cache:
            counts = np.bincount(self.parent[self.parent >= 0], minlength=self.n_nodes)
            self._cache["n_children"] = counts.astype(np.int64)
        return self._cache["n_children"]

    @property
    def ancestors(self) -> IntArray:
        """(N_leaves, T + 1) matrix: column t holds each leaf's ancestor of time t."""
        if "ancestors" not in self._cache:
            horizon = self.horizon
            anc = np.empty((self.n_leaves, horizon + 1), dtype=np.int64)
            anc[:, horizon] = self.leaves
            for t in range(horizon, 0, -1):
                anc[:, t - 1] = self.parent[anc[:, t]]
            self._cache["ancestors"] = anc
        return self._cache["ancestors"]

    @property
    def scenario_leaf(self) -> IntArray:
        """The leaf holding each scenario (in scenario order)."""
        if "scenario_leaf" not in self._cache:
            leaves = self.leaves
            counts = self.event_stop[leaves] - self.event_start[leaves]
            self._cache["scenario_leaf"] = np.repeat(leaves, counts)
        return self._cache["scenario_leaf"]

    # ------------------------------------------------------- expectations
    def conditional_expectation(self, scenario_values: ArrayLike) -> FloatArray:
        """E[V | F(t)] at every node, for one or many random variables at once.

        Parameters
        ----------
        scenario_values : (..., S) array
            Values V(ω) in scenario (tree) order; leading axes (e.g. buyers) are kept.

        Returns
        -------
        (..., N) array
            v(t, ω) = E[V | F(t)] evaluated at ω, per node: bottom-up, each parent is the
            probability-weighted mean of its children.

        Examples
        --------
        >>> tree = ScenarioTree.from_partitions(
        ...     [[["a", "b"]], [["a"], ["b"]]], {"a": 0.25, "b": 0.75})
        >>> tree.conditional_expectation([[4.0, 8.0]]).tolist()
        [[7.0, 4.0, 8.0]]
        """
        values = np.asarray(scenario_values, dtype=np.float64)
        lead = values.shape[:-1]
        flat = values.reshape(-1, values.shape[-1])
        out = np.empty((flat.shape[0], self.n_nodes), dtype=np.float64)
        leaves = self.leaf_slice_values(flat)
        out[:, self.level(self.horizon)] = leaves
        for t in range(self.horizon - 1, -1, -1):
            below = self.level(t + 1)
            here = self.level(t)
            weighted = out[:, below] * self.cond_prob[below]
            starts = self.child_start[here]
            out[:, here] = np.add.reduceat(weighted, starts - below.start, axis=1)
        return out.reshape(*lead, self.n_nodes)

    def leaf_slice_values(self, flat: FloatArray) -> FloatArray:
        """E[V | leaf] for a (k, S) matrix of scenario values -> (k, N_leaves)."""
        leaves = self.leaves
        starts = self.event_start[leaves]
        if self.n_scenarios == self.n_leaves:
            return flat.copy()
        weighted = flat * self.scenario_prob
        return np.add.reduceat(weighted, starts, axis=1) / self.prob[leaves]

    def expectation_of_children(self, node_values: ArrayLike) -> FloatArray:
        """E[x(t + 1) | F(t)] at each non-leaf node: (..., N) -> (..., N_inner)."""
        values = np.asarray(node_values, dtype=np.float64)
        inner = int(self.level_offsets[-2])
        start = int(self.level_offsets[1])
        weighted = values[..., start:] * self.cond_prob[start:]
        return np.add.reduceat(weighted, self.child_start - start, axis=-1)[..., :inner]

    def path_sum(self, node_values: ArrayLike, inclusive: bool = True) -> NDArray[Any]:
        """Σ of ``node_values`` over each node's root-to-node path, one pass per level.

        ``(..., N) -> (..., N)``; with ``inclusive=False`` the node itself is left out (the sum
        over its strict ancestors). This is the one walk along paths: opportunities used so
        far, stock carried to a node, and the like.

        Examples
        --------
        >>> tree, _ = ScenarioTree.from_paths([[0, 0, 0], [0, 0, 1], [0, 1, 0]])
        >>> tree.path_sum(np.arange(tree.n_nodes)).tolist()
        [0, 1, 2, 4, 5, 7]
        >>> tree.path_sum(np.ones(tree.n_nodes), inclusive=False).tolist()
        [0.0, 1.0, 1.0, 2.0, 2.0, 2.0]
        """
        x = np.asarray(node_values)
        out = x.copy()
        for t in range(1, self.horizon + 1):
            level = self.level(t)
            out[..., level] += out[..., self.parent[level]]
        return out if inclusive else out - x

    def path_to(self, node: int) -> IntArray:
        """The nodes of the path from the root to ``node`` (both included), root first.

        Examples
        --------
        >>> tree, _ = ScenarioTree.from_paths([[0, 0, 0], [0, 0, 1], [0, 1, 0]])
        >>> tree.path_to(4).tolist()
        [0, 1, 4]
        """
        leaf = self.scenario_leaf[self.event_start[node]] - self.level_offsets[-2]
        return self.ancestors[leaf, : int(self.time[node]) + 1]

    def expectation_operator(self, t: int, dtype: type = np.float64) -> sp.csr_array:
        """E[x(t + 1) | F(t)] as a sparse (nodes of time t) × (nodes of time t + 1) matrix with
        entries P(child | parent): ``op @ x[level(t + 1)]`` maps rows of the next level to rows
        of this one (a sparse product: far faster than ``np.add.reduceat`` along rows)."""
        key = f"expectation_operator_{t}_{np.dtype(dtype).name}"
        if key not in self._cache:
            here, below = self.level(t), self.level(t + 1)
            n_below = below.stop - below.start
            self._cache[key] = sp.csr_array(
                (
                    self.cond_prob[below].astype(dtype),
                    (self.parent[below] - here.start, np.arange(n_below)),
                ),
                shape=(here.stop - here.start, n_below),
            )
        return self._cache[key]

    def subtree(self, node: int) -> tuple[ScenarioTree, IntArray, IntArray]:
        """The subtree below ``node`` as a tree of its own, with probabilities conditional on it.

        Returns the tree, ``node_map`` (``node_map[k]`` is the original index of its node k) and
        ``scenarios`` (the original index of each of its scenarios, in its order).
        """
        start, stop = int(self.event_start[node]), int(self.event_stop[node])
        depth = int(self.time[node])
        leaves = self.scenario_leaf[start:stop]
        first_leaf = int(self.level_offsets[-2])
        states = self.ancestors[leaves - first_leaf, depth:]
        sub, order = ScenarioTree.from_paths(
            states, self.scenario_prob[start:stop], names=self.scenario_names[start:stop].tolist()
        )
        node_map = np.concatenate([np.unique(states[:, k]) for k in range(states.shape[1])])
        return sub, node_map.astype(np.int64), (start + order).astype(np.int64)

    # ------------------------------------------------------------ builders
    @classmethod
    def from_paths(
        cls,
        states: ArrayLike,
        weights: ArrayLike | None = None,
        names: Sequence[str] | None = None,
        labels: dict[tuple[int, object], str] | None = None,
        label_states: bool = False,
    ) -> tuple[ScenarioTree, IntArray]:
        """Build the tree from observed histories: paths that share a history share a node.

        Parameters
        ----------
        states : (P, T + 1) array
            Row p is path p's observed state at each time t = 0..T (any sortable values).
        weights : (P,) array, optional
            Path weights (normalised to probabilities); equal weights by default.
        names : sequence of P str, optional
            Scenario names; default ``"p0", "p1", ...``.
        labels : dict, optional
            ``{(t, state): label}`` for the node of time t reached by observing ``state``.
        label_states : bool
            Label every node by its state (its name is then the state history, see
            :meth:`node_names`); ``labels`` is then ignored.

        Returns
        -------
        tree : ScenarioTree
            Every path is one scenario.
        order : (P,) int
            ``order[k]`` is the input row of the k-th scenario in tree order.

        Examples
        --------
        >>> tree, order = ScenarioTree.from_paths([[0, 1], [0, 0], [0, 1]])
        >>> tree.parent.tolist(), tree.prob.round(3).tolist()
        ([-1, 0, 0], [1.0, 0.333, 0.667])
        """
        raw = np.asarray(states)
        if raw.ndim != 2 or raw.shape[0] == 0 or raw.shape[1] == 0:
            raise ValueError("states must be a non-empty (paths, T + 1) matrix")
        n_paths, width = raw.shape
        codes = np.empty(raw.shape, dtype=np.int64)
        for t in range(width):
            _, codes[:, t] = np.unique(raw[:, t], return_inverse=True)
        if weights is None:
            w = np.full(n_paths, 1.0 / n_paths)
        else:
            w = np.asarray(weights, dtype=np.float64)
            w = w / w.sum()
        order = np.lexsort(codes.T[::-1]).astype(np.int64)
        sorted_codes = codes[order]
        changed = np.ones((n_paths, width), dtype=bool)
        if n_paths > 1:
            changed[1:] = np.logical_or.accumulate(sorted_codes[1:] != sorted_codes[:-1], axis=1)
        per_level = changed.sum(axis=0)
        offsets = np.zeros(width + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(per_level)
        node_of = np.cumsum(changed, axis=0) - 1 + offsets[:-1]  # (P, T+1) node of row at time t
        n_nodes = int(offsets[-1])
        sw = w[order]

        parent = np.full(n_nodes, -1, dtype=np.int64)
        time = np.empty(n_nodes, dtype=np.int64)
        event_start = np.empty(n_nodes, dtype=np.int64)
        event_stop = np.empty(n_nodes, dtype=np.int64)
        prob = np.zeros(n_nodes, dtype=np.float64)
        rows = np.arange(n_paths, dtype=np.int64)
        for t in range(width):
            firsts = changed[:, t]
            nodes = node_of[firsts, t]
            time[nodes] = t
            event_start[nodes] = rows[firsts]
            if t > 0:
                parent[nodes] = node_of[firsts, t - 1]
            prob[offsets[t] : offsets[t + 1]] = np.bincount(
                node_of[:, t] - offsets[t], weights=sw, minlength=int(per_level[t])
            )
        level_starts = event_start.copy()
        event_stop[:-1] = level_starts[1:]
        # the last node of each level ends at P
        event_stop[offsets[1:] - 1] = n_paths
        cond = prob.copy()
        has_parent = parent >= 0
        cond[has_parent] = prob[has_parent] / prob[parent[has_parent]]

        node_labels = None
        if label_states:
            node_labels = np.full(n_nodes, None, dtype=object)
            for t in range(width):
                firsts = changed[:, t]
                node_labels[node_of[firsts, t]] = raw[order[firsts], t].astype(str)
        elif labels:
            node_labels = np.full(n_nodes, None, dtype=object)
            for t in range(width):
                firsts = changed[:, t]
                nodes = node_of[firsts, t]
                for node, state in zip(nodes.tolist(), raw[order[firsts], t].tolist(), strict=True):
                    label = labels.get((t, state))
                    if label is not None:
                        node_labels[node] = label
        scen_names = (
            np.array([f"p{k}" for k in order.tolist()], dtype=object)
            if names is None
            else np.asarray(list(names), dtype=object)[order]
        )
        tree = cls(
            parent=parent,
            time=time,
            prob=prob,
            cond_prob=cond,
            event_start=event_start,
            event_stop=event_stop,
            level_offsets=offsets,
            scenario_names=scen_names,
            scenario_prob=sw,
            labels=node_labels,
        )
        return tree, order

    @classmethod
    def from_partitions(
        cls, partitions: Sequence[Sequence[Sequence[str]]], probabilities: dict[str, float]
    ) -> ScenarioTree:
        """Build the tree from the filtration form: one partition of Ω per time t = 0..T.

        The partitions must cover Ω and refine each other (checked by
        :func:`treemarket.io.ttp_file` with messages naming the place; here a
        ``ValueError`` is raised).
        """
        names = list(probabilities)
        index = {name: k for k, name in enumerate(names)}
        states = np.full((len(names), len(partitions)), -1, dtype=np.int64)
        for t, partition in enumerate(partitions):
            for b, block in enumerate(partition):
                for name in block:
                    states[index[name], t] = b
        if (states < 0).any():
            raise ValueError("a partition does not cover every scenario")
        if check_refinement(states) is not None:
            raise ValueError("a partition does not refine the one before it")
        probs = np.array([probabilities[n] for n in names], dtype=np.float64)
        tree, _ = cls.from_paths(states, probs, names=names)
        return tree


def check_refinement(states: IntArray) -> tuple[int, int] | None:
    """Return ``(t, block)`` of the first block of F(t) that lies in two blocks of F(t-1)."""
    for t in range(1, states.shape[1]):
        pairs = np.unique(states[:, [t, t - 1]], axis=0)
        blocks, counts = np.unique(pairs[:, 0], return_counts=True)
        bad = blocks[counts > 1]
        if bad.size:
            return t, int(bad[0])
    return None
