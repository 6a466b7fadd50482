"""The TTP model: buyers (or types), exercise values on a scenario tree, and the supply μ(t)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from treemarket.scenario import ScenarioTree


@dataclass(frozen=True, eq=False)
class TTPModel:
    """Buyers i with exercise values V_i(ω) on a scenario tree, and μ(t) permits per time.

    Attributes
    ----------
    tree : ScenarioTree
    buyers : list of str
        Buyer (or buyer-type) names.
    counts : (I,) int
        How many identical buyers each entry stands for (1 for a single buyer).
    supply : (T + 1,) int
        μ(t), the permits offered at each trading time on every path.
    scenario_values : (I, S) float
        V_i(ω) in the tree's scenario order.
    name : str

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> model = weather()
    >>> model.values[:, 0].tolist()       # v_i(0) = E[V_i]: (4, 4, 2) in the slides
    [4.0, 4.0, 2.0]
    """

    tree: ScenarioTree
    buyers: list[str]
    counts: NDArray[np.int64]
    supply: NDArray[np.int64]
    scenario_values: NDArray[np.float64]
    name: str = ""
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n_buyers = len(self.buyers)
        if self.scenario_values.shape != (n_buyers, self.tree.n_scenarios):
            raise ValueError(
                f"scenario_values has shape {self.scenario_values.shape}, expected "
                f"({n_buyers}, {self.tree.n_scenarios})"
            )
        if self.supply.shape != (self.tree.horizon + 1,):
            raise ValueError(
                f"supply has {self.supply.shape[0]} entries; the tree has T + 1 = "
                f"{self.tree.horizon + 1} trading times"
            )
        if self.counts.shape != (n_buyers,):
            raise ValueError("counts must have one entry per buyer")

    @property
    def n_buyers(self) -> int:
        return len(self.buyers)

    @property
    def horizon(self) -> int:
        return self.tree.horizon

    @property
    def values(self) -> NDArray[np.float64]:
        """v_i(t, ω) = E[V_i | F(t)] per buyer and node, shape (I, N)."""
        if "values" not in self._cache:
            self._cache["values"] = self.tree.conditional_expectation(self.scenario_values)
        return self._cache["values"]

    @property
    def node_supply(self) -> NDArray[np.int64]:
        """μ(t(n)) at every node n."""
        return self.supply[self.tree.time]

    def submodel(self, node: int, counts: ArrayLike) -> tuple[TTPModel, NDArray[np.int64]]:
        """The problem left in the subtree of ``node`` when buyers hold ``counts`` opportunities.

        Given the opportunities entering a subtree, its problem is independent of the rest of the
        tree. Returns the model (probabilities conditional on ``node``) and its node map.
        """
        tree, node_map, scenarios = self.tree.subtree(node)
        t = int(self.tree.time[node])
        sub = TTPModel.from_arrays(
            tree, self.buyers, self.supply[t:], self.scenario_values[:, scenarios], counts,
            name=self.name,
        )  # fmt: skip
        return sub, node_map

    @classmethod
    def from_arrays(
        cls,
        tree: ScenarioTree,
        buyers: Sequence[str],
        supply: ArrayLike,
        scenario_values: ArrayLike,
        counts: ArrayLike | None = None,
        name: str = "",
    ) -> TTPModel:
        """Build a model; ``scenario_values`` is (I, S) in the tree's scenario order."""
        values = np.asarray(scenario_values, dtype=np.float64)
        n = len(buyers)
        return cls(
            tree=tree,
            buyers=list(buyers),
            counts=np.ones(n, np.int64) if counts is None else np.asarray(counts, np.int64),
            supply=np.asarray(supply, dtype=np.int64),
            scenario_values=values.reshape(n, -1),
            name=name,
        )

    @classmethod
    def from_scenarios(
        cls,
        buyers: Sequence[str],
        supply: Sequence[int],
        scenarios: Mapping[str, tuple[float, Mapping[str, float]]],
        information: Sequence[Sequence[Sequence[str]]],
        counts: Sequence[int] | None = None,
        name: str = "",
    ) -> TTPModel:
        """The filtration form: ``scenarios[ω] = (P(ω), {buyer: V(ω)})`` and F(0..T).

        Examples
        --------
        >>> m = TTPModel.from_scenarios(
        ...     ["A"], [1, 1], {"up": (0.5, {"A": 3}), "down": (0.5, {"A": -1})},
        ...     [[["up", "down"]], [["up"], ["down"]]])
        >>> m.values.tolist()
        [[1.0, 3.0, -1.0]]
        """
        probabilities = {name_: float(p) for name_, (p, _) in scenarios.items()}
        tree = ScenarioTree.from_partitions(information, probabilities)
        values = np.array(
            [[float(scenarios[s][1][b]) for s in tree.scenario_names] for b in buyers],
            dtype=np.float64,
        ).reshape(len(buyers), tree.n_scenarios)
        return cls.from_arrays(tree, buyers, supply, values, counts, name)

    @classmethod
    def from_paths(
        cls,
        states: ArrayLike,
        exercise_values: ArrayLike,
        buyers: Sequence[str],
        supply: Sequence[int],
        weights: ArrayLike | None = None,
        counts: Sequence[int] | None = None,
        name: str = "",
    ) -> TTPModel:
        """A model from sampled paths: ``states`` (P, T + 1), ``exercise_values`` (P, I).

        Paths sharing a history share a node; weights default to equal.
        """
        st = np.asarray(states)
        tree, order = ScenarioTree.from_paths(st, weights)
        values = np.asarray(exercise_values, dtype=np.float64)[order].T
        return cls.from_arrays(tree, buyers, supply, values, counts, name)
