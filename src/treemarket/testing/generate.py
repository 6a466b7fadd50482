"""Random TTP instances: complete or random trees, values as random walks."""

from __future__ import annotations

import numpy as np

from treemarket.scenario import ScenarioTree
from treemarket.ttp.model import TTPModel


def random_tree(
    rng: np.random.Generator,
    horizon: int,
    branching: int | tuple[int, int] = 2,
    dirichlet: float | None = None,
) -> ScenarioTree:
    """A tree of depth ``horizon``: ``branching`` children per node (or a random number in the
    inclusive range), with equal or Dirichlet(``dirichlet``) conditional probabilities."""
    level = np.zeros(1, dtype=np.int64)  # node ids of the current level's paths
    paths = np.zeros((1, 1), dtype=np.int64)
    weights = np.ones(1)
    next_id = 1
    for _ in range(horizon):
        if isinstance(branching, int):
            kids = np.full(paths.shape[0], branching)
        else:
            kids = rng.integers(branching[0], branching[1] + 1, size=paths.shape[0])
        rep = np.repeat(np.arange(paths.shape[0]), kids)
        total = int(kids.sum())
        new_ids = next_id + np.arange(total)
        next_id += total
        if dirichlet is None:
            cond = 1.0 / kids[rep]
        else:
            cond = np.concatenate([rng.dirichlet(np.full(k, dirichlet)) for k in kids.tolist()])
            cond = np.maximum(cond, 1e-300)
        paths = np.column_stack([paths[rep], new_ids])
        weights = weights[rep] * cond
        level = new_ids
    del level
    tree, _ = ScenarioTree.from_paths(paths, weights)
    return tree


def random_model(
    rng: np.random.Generator,
    horizon: int = 2,
    buyers: int = 3,
    branching: int | tuple[int, int] = 2,
    supply: int | tuple[int, int] = (0, 2),
    dirichlet: float | None = None,
    step: float = 3.0,
    counts: tuple[int, int] | None = None,
    integer_values: bool = True,
    windows: bool = False,
    early_benefit: float = 0.0,
    carry_over: bool = False,
) -> TTPModel:
    """Exercise values V_i(ω) = x_i + Σ_t step·ε_i(t) along each path (a random walk per buyer),
    rounded to integers by default so that ties (the hard cases) occur. ``windows`` draws a
    presence window per buyer; ``early_benefit`` the spread of random b_i(t)."""
    tree = random_tree(rng, horizon, branching, dirichlet)
    n_nodes = tree.n_nodes
    walk = rng.normal(0.0, step, size=(buyers, n_nodes))
    walk[:, tree.level(0)] += rng.uniform(-2, 8, size=(buyers, 1))
    walk = tree.path_sum(walk)  # the walk's sum along each path
    leaf_values = walk[:, tree.level(horizon)]  # (I, L): leaves are in scenario order
    if tree.n_scenarios != tree.n_leaves:
        raise AssertionError("random trees have one scenario per leaf")
    if integer_values:
        leaf_values = np.round(leaf_values)
    if isinstance(supply, int):
        mu = np.full(horizon + 1, supply)
    else:
        mu = rng.integers(supply[0], supply[1] + 1, size=horizon + 1)
    cnt = None if counts is None else rng.integers(counts[0], counts[1] + 1, size=buyers)
    names = [chr(ord("A") + k) if buyers <= 26 else f"b{k}" for k in range(buyers)]
    window = None
    if windows:
        ends = np.sort(rng.integers(0, horizon + 1, size=(buyers, 2)), axis=1)
        window = ends
    benefit = None
    if early_benefit:
        benefit = np.round(rng.normal(0.0, early_benefit, size=(buyers, horizon + 1)), 1)
    return TTPModel.from_arrays(
        tree,
        names,
        mu,
        leaf_values,
        cnt,
        name="random",
        window=window,
        early_benefit=benefit,
        carry_over=carry_over,
    )
