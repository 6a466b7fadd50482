"""Back to the paths: the tree's policies on observed paths, in or out of sample.

A path (e.g. a held-out year) is routed down a fitted tree as it unfolds (the nearest child at
each step, :meth:`~treemarket.scenario.fit.FittedTree.route`); the buyers decide on the tree's
values at the nodes the path visits, but a permit bought at t is worth the path's own value
V_i(path) + b_i(t). The policies:

* ``tree``: the optimal assignment y of [P0] on the tree, followed along the path (serve
  y_i(n) units at the node n the path is at), at the tree's supporting prices;
* ``market``, ``myopic``, ``fcfs``, ``lottery``: as in :mod:`treemarket.ttp.simulate`, on the
  same paths (random orders and lotteries drawn per path).

On the tree's own training paths the ``tree`` policy's mean welfare is exactly the expected
welfare of [P0] on the tree (the leaves' values are the means of their paths' values).
Everything is vectorized over paths: one numpy pass per trading time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from treemarket.scenario.fit import FittedTree, PathData, fit_tree
from treemarket.ttp.dispatch import solve
from treemarket.ttp.model import TTPModel
from treemarket.ttp.result import TTPSolution, Which
from treemarket.ttp.simulate import (
    POLICIES,
    PolicyOutcome,
    PolicyRun,
    ScenarioPaths,
    early_benefit_at,
    policy_outcome,
    policy_table,
    run_policy,
)

if TYPE_CHECKING:
    import pandas as pd

OUT_OF_SAMPLE_POLICIES = ("tree", *POLICIES)


@dataclass
class PathEvaluation:
    """The policies' mean results on a set of paths, against the tree's in-sample optimum.

    Attributes
    ----------
    policies : dict
        One :class:`~treemarket.ttp.simulate.PolicyOutcome` per policy (standard errors over
        the paths; ``efficiency`` is welfare / ``optimum``).
    optimum : float
        The expected welfare of [P0] on the tree (what the tree promises).
    paths : int
        How many paths were evaluated.
    nodes : int
        The tree's size.
    versus_tree : dict
        ``{policy: {"difference", "se"}}``: the mean over the same paths of the policy's welfare
        minus the tree policy's, and its (paired) standard error: far smaller than the policies'
        own standard errors, since both run on the same paths.
    """

    policies: dict[str, PolicyOutcome]
    optimum: float
    paths: int
    nodes: int
    notes: list[str] = field(default_factory=list)
    versus_tree: dict[str, dict[str, float]] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per policy: welfare, its standard error, efficiency, revenue, unsold."""
        return policy_table(self.policies)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "optimum": self.optimum,
            "paths": self.paths,
            "nodes": self.nodes,
            "policies": {name: p.to_json() for name, p in self.policies.items()},
            "versus_tree": self.versus_tree,
        }
        if self.notes:
            out["note"] = " ".join(self.notes)
        return out


def evaluate_paths(
    model: TTPModel,
    solution: TTPSolution,
    nodes: ArrayLike,
    values: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    policies: Sequence[str] = OUT_OF_SAMPLE_POLICIES,
    prices: Which = "low",
    posted_price: float = 0.0,
    seed: int = 0,
) -> PathEvaluation:
    """Run the policies along paths given by their nodes, with the paths' own values.

    Parameters
    ----------
    model, solution
        The model on the fitted tree and its solution (its y and prices).
    nodes : (P, T + 1) int
        The node of each path at each time (``FittedTree.route``).
    values : (P, I) float
        V_i on each path (e.g. the model file's value rules on the path's columns at T).
    weights : (P,) float, optional
        Path weights; equal by default.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> m = weather()
    >>> sol = solve(m)
    >>> paths = m.tree.ancestors                       # every scenario once ...
    >>> ev = evaluate_paths(m, sol, paths, m.scenario_values.T, m.tree.scenario_prob)
    >>> ev.policies["tree"].welfare == sol.welfare     # ... gives back the expectation
    True
    """
    route = np.asarray(nodes, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    n_paths = route.shape[0]
    if route.ndim != 2 or route.shape[1] != model.horizon + 1:
        raise ValueError(f"nodes must be (P, {model.horizon + 1})")
    if v.shape != (n_paths, model.n_buyers):
        raise ValueError(f"values must be (P, {model.n_buyers}), got {v.shape}")
    w = np.full(n_paths, 1.0 / n_paths) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    paths = ScenarioPaths(route, w, sampled=True)
    rng = np.random.default_rng(seed)
    system = solution.price_system(prices)
    reference = solution.y if solution.supported.proven else None
    optimum = solution.welfare
    outcomes: dict[str, PolicyOutcome] = {}
    per_path: dict[str, NDArray[np.float64]] = {}
    notes: list[str] = []
    for name in policies:
        if name not in OUT_OF_SAMPLE_POLICIES:
            raise ValueError(f"unknown policy {name!r}; choose from {OUT_OF_SAMPLE_POLICIES}")
        if name == "tree":
            run = _follow(model, solution, route, v, system.price if system else None)
        elif name == "market":
            if system is None:
                notes.append("the solution has no prices: the market policy was not run")
                continue
            run = run_policy(model, paths, name, rng, system.price, reference, realised=v)
        else:
            run = run_policy(model, paths, name, rng, posted_price=posted_price, realised=v)
        outcomes[name] = policy_outcome(name, model, [run], paths, optimum)
        per_path[name] = run.welfare
    if system is None and "tree" in outcomes:
        notes.append("no prices: the tree policy's revenue is 0")
    versus: dict[str, dict[str, float]] = {}
    if "tree" in per_path:
        for name, welfare in per_path.items():
            if name != "tree":
                versus[name] = _paired(welfare - per_path["tree"], w)
    return PathEvaluation(outcomes, optimum, n_paths, model.tree.n_nodes, notes, versus)


def _paired(diff: NDArray[np.float64], weight: NDArray[np.float64]) -> dict[str, float]:
    """The weighted mean of per-path differences and its standard error (as the policies'
    own: the spread over paths over √P)."""
    mean = float(diff @ weight)
    se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0
    return {"difference": mean, "se": se}


def _follow(
    model: TTPModel,
    solution: TTPSolution,
    route: NDArray[np.int64],
    realised: NDArray[np.float64],
    price: NDArray[np.float64] | None,
) -> PolicyRun:
    """The optimal assignment y followed along each path: y_i(n) units at node n."""
    y = solution.y  # (I, N)
    n_paths = route.shape[0]
    welfare = np.zeros(n_paths)
    revenue = np.zeros(n_paths)
    unsold = np.zeros(n_paths)
    payoffs = np.zeros((n_paths, model.n_buyers))
    carried = np.zeros(n_paths)
    depth = route.shape[1]
    for t in range(depth):
        node = route[:, t]
        served = y[:, node].T  # (P, I)
        p = np.zeros(n_paths) if price is None else price[node]
        worth = realised + early_benefit_at(model, t)
        welfare += (served * worth).sum(axis=1)
        revenue += served.sum(axis=1) * p
        payoffs += served * (worth - p[:, None])
        left = model.node_supply[node] + carried - served.sum(axis=1)
        if model.carry_over and t < depth - 1:
            carried = left
        else:
            unsold += left
    return PolicyRun(welfare, revenue, unsold, payoffs)


@dataclass
class SizePoint:
    """One tree size of :func:`size_curve`: the in-sample optimum and the policies out of
    sample."""

    branching: tuple[int, ...]
    nodes: int
    optimum: float
    in_sample: PathEvaluation
    out_of_sample: PathEvaluation
    gap: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "branching": list(self.branching),
            "nodes": self.nodes,
            "optimum": self.optimum,
            "gap": self.gap,
            "in_sample": self.in_sample.to_json(),
            "out_of_sample": self.out_of_sample.to_json(),
        }


def model_on(model: TTPModel, fitted: FittedTree, path_values: ArrayLike) -> TTPModel:
    """``model``'s buyers and supply on a fitted tree, each leaf's values the mean of its
    training paths' values (path_values is (P, I))."""
    return TTPModel.from_arrays(
        fitted.tree,
        model.buyers,
        model.supply,
        fitted.leaf_values(path_values),
        model.counts,
        name=model.name,
        window=model.window,
        early_benefit=model.early_benefit,
        carry_over=model.carry_over,
    )


def size_curve(
    model: TTPModel,
    train: PathData,
    train_values: ArrayLike,
    test: PathData,
    test_values: ArrayLike,
    branchings: Sequence[Sequence[int]],
    *,
    policies: Sequence[str] = OUT_OF_SAMPLE_POLICIES,
    seed: int = 0,
    fit_seed: int = 0,
    **fit_options: Any,
) -> list[SizePoint]:
    """Fit a tree of each branching to ``train``, solve it, and evaluate its policies on the
    training paths and on ``test``: when does a bigger tree stop paying?

    ``seed`` drives the random policies (fcfs, lottery), ``fit_seed`` the k-means; the other
    ``fit_options`` go to :func:`~treemarket.scenario.fit.fit_tree`. ``SizePoint.optimum`` is
    the welfare of the solution found on each tree and ``gap`` its certified relative gap (0:
    proven optimal)."""
    points = []
    for branching in branchings:
        fitted = fit_tree(train, branching, seed=fit_seed, **fit_options)
        m = model_on(model, fitted, train_values)
        sol = solve(m)
        inside = evaluate_paths(
            m, sol, fitted.path_node, train_values, train.prob, policies=policies, seed=seed
        )
        outside = evaluate_paths(
            m, sol, fitted.route(test), test_values, test.prob, policies=policies, seed=seed
        )
        points.append(
            SizePoint(
                tuple(int(k) for k in branching),
                m.tree.n_nodes,
                sol.welfare,
                inside,
                outside,
                float(sol.gap),
            )
        )
    return points
