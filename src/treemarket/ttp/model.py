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
    window : (I, 2) int or None
        Presence window [arrival, departure]: the trading times at which buyer i can trade
        (None: every buyer can trade at every time, the paper's model).
    early_benefit : (I, T + 1) float or None
        b_i(t), added to the value of buying at t: positive for the planning value of an early
        commitment, negative for a cost of holding (None: zero, the paper's model).
    carry_over : bool
        Unsold permits carry over to the next market along each path (the stock constraint
        Σ_{m ≤ n} Σ_i y_i(m) ≤ Σ_{s ≤ t(n)} μ(s) on every root-to-node path); False in the paper.

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
    window: NDArray[np.int64] | None = None
    early_benefit: NDArray[np.float64] | None = None
    carry_over: bool = False
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
        if self.window is not None and self.window.shape != (n_buyers, 2):
            raise ValueError("window must be an (I, 2) array of [arrival, departure]")
        if self.early_benefit is not None and self.early_benefit.shape != (
            n_buyers,
            self.tree.horizon + 1,
        ):
            raise ValueError("early_benefit must be an (I, T + 1) array")

    def summary(self) -> str:
        """One line: buyers (or types and units), T, nodes, scenarios and the supply μ(t).

        Examples
        --------
        >>> from treemarket.ttp.examples import weather
        >>> weather()
        TTPModel('weather': 3 buyers, T = 2, 7 nodes, 4 scenarios, supply μ = [1, 1, 1])
        """
        units = int(self.counts.sum())
        buyers = (
            f"{self.n_buyers} buyers"
            if units == self.n_buyers
            else f"{self.n_buyers} buyer types ({units} units)"
        )
        tree = self.tree
        return (
            f"{buyers}, T = {tree.horizon}, {tree.n_nodes} nodes, {tree.n_scenarios} scenarios, "
            f"supply μ = {self.supply.tolist()}"
        )

    def __repr__(self) -> str:
        name = f"{self.name!r}: " if self.name else ""
        return f"TTPModel({name}{self.summary()})"

    @property
    def n_buyers(self) -> int:
        return len(self.buyers)

    @property
    def horizon(self) -> int:
        return self.tree.horizon

    @property
    def values(self) -> NDArray[np.float64]:
        """The value of buying at each node: v_i(t, ω) = E[V_i | F(t)] (+ b_i(t) with early
        benefits), per buyer and node, shape (I, N): a view of :attr:`values_by_node`, so the
        values are stored once."""
        return self.values_by_node.T

    @property
    def values_by_node(self) -> NDArray[np.float64]:
        """The values in the nodes × buyers layout (C order): every level is a block of rows."""
        if "values_by_node" not in self._cache:
            values = self.tree.conditional_expectation(self.scenario_values)
            if self.early_benefit is not None:
                values += self.early_benefit[:, self.tree.time]
            self._cache["values_by_node"] = np.ascontiguousarray(values.T)
        return self._cache["values_by_node"]

    @property
    def can_buy_by_node(self) -> NDArray[np.bool_]:
        """``can_buy`` in the nodes × buyers layout."""
        if "can_buy_by_node" not in self._cache:
            self._cache["can_buy_by_node"] = np.ascontiguousarray(self.can_buy.T)
        return self._cache["can_buy_by_node"]

    @property
    def present(self) -> NDArray[np.bool_]:
        """(I, N): can buyer i trade at node n (inside her presence window)?"""
        if "present" not in self._cache:
            shape = (self.n_buyers, self.tree.n_nodes)
            if self.window is None:
                present = np.ones(shape, dtype=bool)
            else:
                t = self.tree.time[None, :]
                present = (self.window[:, :1] <= t) & (t <= self.window[:, 1:])
            self._cache["present"] = present
        return self._cache["present"]

    def active_at(self, t: int) -> NDArray[np.bool_]:
        """(I,): which buyers (types) can trade at time t: present and with units.

        ``can_buy[i, n]`` is ``active_at(t(n))[i] & market_open[n]``: the per-node mask
        factorizes, so hot paths never need the (I, N) one.
        """
        active = self.counts > 0
        if self.window is not None:
            active = active & (self.window[:, 0] <= t) & (t <= self.window[:, 1])
        return active

    @property
    def can_buy(self) -> NDArray[np.bool_]:
        """(I, N): present, a market is open (μ(t) > 0) and the buyer (type) has units."""
        if "can_buy" not in self._cache:
            self._cache["can_buy"] = (
                self.present & self.market_open[None, :] & (self.counts[:, None] > 0)
            )
        return self._cache["can_buy"]

    @property
    def market_open(self) -> NDArray[np.bool_]:
        """(N,): can anything be sold at node n? μ(t) > 0, or with carry-over any supply so far."""
        if self.carry_over:
            return np.cumsum(self.supply)[self.tree.time] > 0
        return self.node_supply > 0

    def stock(self, y: NDArray[np.float64]) -> NDArray[np.float64]:
        """s(n) = Σ_{m ≤ n} (μ(t(m)) − Σ_i y_i(m)): permits left after the market at n (with
        carry-over; without it, the unsold permits of n alone)."""
        left = (self.node_supply - y.sum(axis=0)).astype(np.float64)
        return self.tree.path_sum(left) if self.carry_over else left

    def with_supply(self, supply: ArrayLike) -> TTPModel:
        """The same model with another supply schedule μ(0..T)."""
        mu = np.asarray(supply, dtype=np.int64)
        return TTPModel(
            tree=self.tree,
            buyers=self.buyers,
            counts=self.counts,
            supply=mu,
            scenario_values=self.scenario_values,
            name=self.name,
            window=self.window,
            early_benefit=self.early_benefit,
            carry_over=self.carry_over,
        )

    def select_buyers(self, keep: ArrayLike, counts: ArrayLike | None = None) -> TTPModel:
        """The same model with only the buyers ``keep`` (indices), optionally new counts."""
        idx = np.asarray(keep, dtype=np.int64)
        return TTPModel(
            tree=self.tree,
            buyers=[self.buyers[i] for i in idx.tolist()],
            counts=self.counts[idx] if counts is None else np.asarray(counts, np.int64),
            supply=self.supply,
            scenario_values=self.scenario_values[idx],
            name=self.name,
            window=None if self.window is None else self.window[idx],
            early_benefit=None if self.early_benefit is None else self.early_benefit[idx],
            carry_over=self.carry_over,
        )

    @property
    def node_supply(self) -> NDArray[np.int64]:
        """μ(t(n)) at every node n."""
        return self.supply[self.tree.time]

    def submodel(
        self, node: int, counts: ArrayLike, stock: int = 0
    ) -> tuple[TTPModel, NDArray[np.int64]]:
        """The problem left in the subtree of ``node`` when buyers hold ``counts`` opportunities
        (and, with carry-over, ``stock`` unsold permits arrive from the parent).

        Given what enters a subtree, its problem is independent of the rest of the tree.
        Returns the model (probabilities conditional on ``node``) and its node map.
        """
        tree, node_map, scenarios = self.tree.subtree(node)
        t = int(self.tree.time[node])
        supply = self.supply[t:].copy()
        supply[0] += stock
        sub = TTPModel(
            tree=tree,
            buyers=list(self.buyers),
            counts=np.asarray(counts, dtype=np.int64),
            supply=supply,
            scenario_values=self.scenario_values[:, scenarios],
            name=self.name,
            window=None if self.window is None else self.window - t,
            early_benefit=None if self.early_benefit is None else self.early_benefit[:, t:],
            carry_over=self.carry_over,
        )
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
        window: ArrayLike | None = None,
        early_benefit: ArrayLike | None = None,
        carry_over: bool = False,
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
            window=None if window is None else np.asarray(window, np.int64).reshape(n, 2),
            early_benefit=(
                None if early_benefit is None else np.asarray(early_benefit, np.float64)
            ),
            carry_over=carry_over,
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
        supply: ArrayLike,
        weights: ArrayLike | None = None,
        counts: ArrayLike | None = None,
        name: str = "",
    ) -> TTPModel:
        """A model from sampled paths: ``states`` (P, T + 1), ``exercise_values`` (P, I).

        Paths sharing a history share a node; weights default to equal.
        """
        st = np.asarray(states)
        tree, order = ScenarioTree.from_paths(st, weights)
        values = np.asarray(exercise_values, dtype=np.float64)[order].T
        return cls.from_arrays(tree, buyers, supply, values, counts, name)


def expected_welfare(model: TTPModel, y: NDArray[np.float64]) -> float:
    """E[Σ_t Σ_i v_i(t) y_i(t)] = Σ_n P(n) Σ_i v_i(n) y_i(n)."""
    return float(np.sum(model.tree.prob * np.einsum("in,in->n", model.values, y)))


def welfare_grid(model: TTPModel) -> float:
    """A step δ > 0 with W(y) ∈ δℤ for every integral y (0 when none is representable).

    Every float is a dyadic rational a·2^k (a odd), so P(n)·v_i(n) = a_P a_v 2^{k_P + k_v}
    exactly, and δ = gcd(a_P)·gcd(a_v)·2^{min k} divides all of them. With integer values and
    probabilities 2^-d (binary trees) δ is about the smallest probability; with generic reals
    it is far below any gap (e.g. 1e-20). Then [P0] ≤ δ⌊U/δ⌋ for any bound U
    (:func:`integer_bound`): the integrality of the objective, as MIP solvers use it.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> welfare_grid(weather())
    0.5
    """
    pairs = model.can_buy & (model.values != 0)
    buyer, node = np.nonzero(pairs)
    if buyer.size == 0:
        return 0.0
    odd_v, exp_v = _dyadic(model.values[buyer, node])
    odd_p, exp_p = _dyadic(model.tree.prob[node])
    common = _gcd(odd_v) * _gcd(odd_p)
    if common >= 2**53:  # not exact as a float: the power of two alone still divides
        common = 1
    return float(np.ldexp(float(common), int((exp_v + exp_p).min())))


def integer_bound(bound: float, grid: float) -> float:
    """δ⌊U/δ⌋: the largest multiple of the welfare grid δ (:func:`welfare_grid`) at most the
    bound U of [P0]. U may carry a float64 rounding error of 1e-11 (relative): the floor
    allows for it. U itself when the grid is too fine to help."""
    steps = bound / grid if grid > 0 and np.isfinite(bound) else np.inf
    if not abs(steps) < 1e12:
        return bound
    return min(bound, grid * float(np.floor(steps + 1e-11 * abs(steps) + 1e-9)))


def _dyadic(x: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """x = a·2^k with a odd (a = 0 for x = 0): the integers a and k, elementwise."""
    mantissa, exponent = np.frexp(np.abs(x))
    a = np.ldexp(mantissa, 53).astype(np.int64)
    k = exponent.astype(np.int64) - 53
    zeros = np.zeros_like(a)
    trailing = np.log2(a & -a, out=np.zeros(a.shape), where=a != 0).astype(np.int64)
    return np.where(a != 0, a >> trailing, zeros), np.where(a != 0, k + trailing, 0)


def _gcd(a: NDArray[np.int64]) -> int:
    """The gcd of the nonzero entries (1 as soon as it is 1; 1 for none)."""
    g = 0
    for value in np.unique(a[a != 0]).tolist():
        g = np.gcd(g, value)
        if g == 1:
            break
    return int(g) if g else 1
