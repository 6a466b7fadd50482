"""The instance zoo: named families of TTP instances at any size, for tests and benchmarks.

Each family stresses one feature of the problem (when information arrives, ties, heavy tails,
skewed or tiny probabilities, the shape of the tree, scarce or abundant supply, buyer types,
presence windows, carry-over). :func:`make` builds a member of a family from a seed and a size,
``pairs`` = buyers (or buyer types) × nodes, from about 30 (small enough for
:func:`~treemarket.testing.brute_force_welfare`) to 10^7; the family picks the buyers, the depth
and the branching. Every builder is vectorized numpy with one pass per level at most, and
deterministic given the seed.

The registry :data:`FAMILIES` is open: :func:`register` adds a family (a name, a one-line
description and a builder ``(rng, pairs, **params) -> TTPModel``).

Examples
--------
>>> from treemarket.testing import zoo
>>> model = zoo.make("late_information", pairs=1_000, seed=0)
>>> model.name, model.n_buyers, model.tree.n_nodes, model.values.size
('late_information', 8, 127, 1016)
>>> v = model.values                    # E[V | F(t)] is flat until the last step
>>> bool(np.allclose(v[:, :63], v[:, :1]))
True
>>> sorted(zoo.FAMILIES)[:3]
['abundant_supply', 'buyer_types', 'carry_over']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

from treemarket.scenario import ScenarioTree
from treemarket.testing.generate import random_model, random_tree
from treemarket.ttp.model import TTPModel

Builder = Callable[..., TTPModel]


@dataclass(frozen=True)
class Family:
    """A named family of instances.

    Attributes
    ----------
    name : str
    description : str
        One line: what the family stresses and its default parameters.
    build : callable
        ``build(rng, pairs, **params) -> TTPModel`` with about ``pairs`` buyer-node pairs.
    """

    name: str
    description: str
    build: Builder

    def make(self, pairs: int = 10_000, seed: int = 0, **params: Any) -> TTPModel:
        """A member of the family with about ``pairs`` buyer-node pairs (see :func:`make`)."""
        return make(self, pairs=pairs, seed=seed, **params)


FAMILIES: dict[str, Family] = {}


def register(name: str, description: str) -> Callable[[Builder], Builder]:
    """Decorator: add ``build(rng, pairs, **params)`` to :data:`FAMILIES` under ``name``."""

    def add(build: Builder) -> Builder:
        FAMILIES[name] = Family(name, description, build)
        return build

    return add


def make(family: str | Family, pairs: int = 10_000, seed: int = 0, **params: Any) -> TTPModel:
    """Build an instance of ``family`` with about ``pairs`` buyer-node pairs.

    Parameters
    ----------
    family : str or Family
        A name in :data:`FAMILIES` or a :class:`Family`.
    pairs : int
        The target size: buyers (types) × nodes, the number of values v_i(n). Families hit it
        within about 10% from 1,000 pairs up (within a factor of 2 below).
    seed : int
        Seed of the ``numpy`` generator: the same seed gives the same instance.
    **params
        The family's own parameters (see its builder).

    Returns
    -------
    TTPModel
        Named after the family.

    Examples
    --------
    >>> m = make("wide_shallow", pairs=100_000, seed=1)
    >>> m.tree.horizon, int(m.tree.n_children[0]), m.n_buyers
    (3, 20, 12)
    """
    fam = FAMILIES[family] if isinstance(family, str) else family
    if pairs < 1:
        raise ValueError("pairs must be positive")
    model = fam.build(np.random.default_rng(seed), int(pairs), **params)
    return _renamed(model, fam.name)


# ------------------------------------------------------------------ shapes
def _nodes(branching: int, depth: int) -> int:
    """Nodes of a complete tree of this branching and depth."""
    if branching == 1:
        return depth + 1
    return (branching ** (depth + 1) - 1) // (branching - 1)


def _default_buyers(pairs: int) -> float:
    """The preferred number of buyers at a size: about 2 at 30 pairs, 37 at 10^5, 170 at 10^7."""
    return max(2.0, 0.8 * pairs ** (1 / 3))


def _shape(
    pairs: int,
    nodes_of: Callable[[int], int],
    depths: range,
    target_buyers: float,
    min_buyers: int = 1,
) -> tuple[int, int]:
    """(depth, buyers) with buyers × nodes_of(depth) closest to ``pairs``, buyers near the
    target (size first: a factor 2 in buyers costs as much as 20% in size)."""
    best: tuple[float, int, int] | None = None
    for depth in depths:
        n = nodes_of(depth)
        buyers = max(min_buyers, round(pairs / n))
        score = abs(math.log(buyers * n / pairs)) + 0.3 * abs(math.log(buyers / target_buyers))
        if best is None or score < best[0]:
            best = (score, depth, buyers)
        if n > pairs:
            break
    assert best is not None
    return best[1], best[2]


def _tree_shape(
    pairs: int, branching: int = 2, target_buyers: float | None = None, min_depth: int = 1
) -> tuple[int, int]:
    """(depth, buyers) for a complete tree of this branching."""
    target = _default_buyers(pairs) if target_buyers is None else target_buyers
    return _shape(pairs, lambda d: _nodes(branching, d), range(min_depth, 64), target)


def _renamed(model: TTPModel, name: str) -> TTPModel:
    return TTPModel.from_arrays(
        model.tree,
        model.buyers,
        model.supply,
        model.scenario_values,
        model.counts,
        name=name,
        window=model.window,
        early_benefit=model.early_benefit,
        carry_over=model.carry_over,
    )


def _names(n: int) -> list[str]:
    return [chr(ord("A") + k) if n <= 26 else f"b{k}" for k in range(n)]


def _walk(rng: np.random.Generator, tree: ScenarioTree, buyers: int, step: float) -> np.ndarray:
    """(I, L) leaf values of a Gaussian random walk per buyer (steps N(0, step²) at every node)."""
    steps = rng.normal(0.0, step, size=(buyers, tree.n_nodes))
    return tree.path_sum(steps)[:, tree.leaves]


def _supply(rng: np.random.Generator, horizon: int, supply: int | tuple[int, int]) -> np.ndarray:
    if isinstance(supply, int):
        return np.full(horizon + 1, supply, dtype=np.int64)
    return rng.integers(supply[0], supply[1] + 1, size=horizon + 1)


def _walk_model(
    rng: np.random.Generator,
    depth: int,
    buyers: int,
    supply: int | tuple[int, int],
    *,
    branching: int | tuple[int, int] = 2,
    step: float = 2.0,
    **options: Any,
) -> TTPModel:
    """The zoo's base: :func:`~treemarket.testing.random_model` on a complete tree of this
    depth and branching, real random-walk values (steps N(0, ``step``²))."""
    return random_model(
        rng,
        horizon=depth,
        buyers=buyers,
        branching=branching,
        supply=supply,
        step=step,
        integer_values=False,
        **options,
    )


def _chains(first: np.ndarray, horizon: int) -> np.ndarray:
    """States (P, T + 1) for paths that split at t = 1 by ``first`` and then never again."""
    states = np.zeros((first.shape[0], horizon + 1), dtype=np.int64)
    states[:, 1:] = first[:, None]
    return states


# ------------------------------------------------------------------ families
@register(
    "random_walk",
    "today's benchmark family: binary tree, values as random walks (step 2), μ(t) in 1..3",
)
def random_walk(
    rng: np.random.Generator,
    pairs: int,
    *,
    step: float = 2.0,
    supply: int | tuple[int, int] = (1, 3),
    depth: int | None = None,
    buyers: int | None = None,
) -> TTPModel:
    """:func:`~treemarket.testing.random_model` on a binary tree, real values: the generator of
    ``benchmarks/bench_scale.py``. Its shapes differ (49 buyers at 10^5 pairs, 50 there);
    ``depth`` and ``buyers`` given together fix the shape (then ``pairs`` is ignored), and
    ``make("random_walk", depth=10, buyers=50, seed=0)`` is its 1e5 instance."""
    if depth is None or buyers is None:
        depth, buyers = _tree_shape(pairs)
    return _walk_model(rng, depth, buyers, supply, step=step)


@register(
    "late_information",
    "binary tree, leaf values i.i.d. around a per-buyer mean: E[V|F(t)] flat until t = T; "
    "μ(t) in 1..5",
)
def late_information(
    rng: np.random.Generator,
    pairs: int,
    *,
    spread: float = 3.0,
    supply: int | tuple[int, int] = (1, 5),
) -> TTPModel:
    """V_i(ω) = m_i + ε_i(ω), m_i ~ U(0, 8), ε ~ N(0, spread²) centred within every sibling
    pair of leaves, so that E[V_i | F(t)] = m_i exactly for t < T."""
    depth, buyers = _tree_shape(pairs)
    tree = random_tree(rng, depth, 2)
    noise = rng.normal(0.0, spread, size=(buyers, tree.n_leaves))
    last = tree.leaves
    op = tree.expectation_operator(depth - 1)  # E[· | parent] over the leaves
    parent_mean = (op @ noise.T).T
    noise -= parent_mean[:, tree.parent[last] - tree.level_offsets[depth - 1]]
    values = rng.uniform(0.0, 8.0, size=(buyers, 1)) + noise
    return TTPModel.from_arrays(tree, _names(buyers), _supply(rng, depth, supply), values)


@register(
    "early_resolution",
    "all information arrives at t = 1: the root has many children, each then a chain; "
    "T = 2 (tiny) to 6",
)
def early_resolution(
    rng: np.random.Generator,
    pairs: int,
    *,
    horizon: int | None = None,
    spread: float = 3.0,
    supply: int | tuple[int, int] = (1, 3),
) -> TTPModel:
    """V_i = m_i + N(0, spread²) per branch of the root; the value is known from t = 1 on."""
    horizon = horizon if horizon is not None else int(np.clip(round(math.log10(pairs)), 2, 6))
    buyers = _default_buyers(pairs)
    k = max(2, round((pairs / buyers - 1) / horizon))  # nodes: 1 + k T
    buyers = max(1, round(pairs / (1 + k * horizon)))
    states = _chains(np.arange(k), horizon)
    tree, order = ScenarioTree.from_paths(states)
    values = rng.uniform(-2.0, 8.0, size=(buyers, 1)) + rng.normal(0.0, spread, size=(buyers, k))
    return TTPModel.from_arrays(
        tree, _names(buyers), _supply(rng, horizon, supply), values[:, order]
    )


@register(
    "ties",
    "binary tree, integer values in -1..4 (a rounded, clipped random walk), half the buyers "
    "exact copies of others",
)
def ties(
    rng: np.random.Generator,
    pairs: int,
    *,
    low: int = -1,
    high: int = 4,
    copies: float = 0.5,
    supply: int | tuple[int, int] = (1, 3),
) -> TTPModel:
    """Many ties: between values, between nodes and (``copies``) between buyers."""
    depth, buyers = _tree_shape(pairs)
    distinct = max(1, round(buyers * (1.0 - copies)))
    base = random_model(
        rng,
        horizon=depth,
        buyers=distinct,
        branching=2,
        supply=supply,
        step=0.8,
        integer_values=True,
    )
    rows = np.concatenate([np.arange(distinct), rng.integers(0, distinct, buyers - distinct)])
    rows = rng.permutation(rows)
    values = np.clip(base.scenario_values[rows] - 2.0, low, high)
    return TTPModel.from_arrays(base.tree, _names(buyers), base.supply, values)


@register(
    "heavy_tailed",
    "binary tree, lognormal (sigma 1.5) or Pareto (alpha 1.5) values along correlated paths "
    "minus a per-buyer cost",
)
def heavy_tailed(
    rng: np.random.Generator,
    pairs: int,
    *,
    distribution: str = "lognormal",
    sigma: float = 1.5,
    alpha: float = 1.5,
    supply: int | tuple[int, int] = (1, 3),
) -> TTPModel:
    """V_i(ω) = s_i (X_i(ω) − 1) where X is exp(σ Z) (``lognormal``) or (1 − Φ(Z))^(−1/α)
    (``pareto``, X ≥ 1), Z a standard normal random walk's leaf value; s_i ~ U(0.5, 2)."""
    if distribution not in ("lognormal", "pareto"):
        raise ValueError("distribution must be 'lognormal' or 'pareto'")
    depth, buyers = _tree_shape(pairs)
    tree = random_tree(rng, depth, 2)
    z = _walk(rng, tree, buyers, 1.0 / math.sqrt(depth + 1))  # N(0, 1) at every leaf
    if distribution == "lognormal":
        x = np.exp(sigma * z)
    else:
        x = np.maximum(1.0 - ndtr(z), 1e-300) ** (-1.0 / alpha)
    values = rng.uniform(0.5, 2.0, size=(buyers, 1)) * (x - 1.0)
    return TTPModel.from_arrays(tree, _names(buyers), _supply(rng, depth, supply), values)


@register(
    "skewed_probabilities",
    "ternary tree, Dirichlet(0.2) conditional probabilities (floored at 1e-9), random-walk values",
)
def skewed_probabilities(
    rng: np.random.Generator,
    pairs: int,
    *,
    branching: int = 3,
    concentration: float = 0.2,
    floor: float = 1e-9,
    supply: int | tuple[int, int] = (1, 3),
) -> TTPModel:
    """Many nodes with tiny probability: P(child | parent) ~ Dirichlet(concentration) (drawn as
    normalised gammas, all nodes at once), each at least ``floor`` before renormalising."""
    depth, buyers = _tree_shape(pairs, branching)
    base = _walk_model(rng, depth, buyers, supply, branching=branching)
    tree = base.tree
    gam = np.maximum(rng.gamma(concentration, size=tree.n_nodes), 1e-300)
    parent = np.maximum(tree.parent, 0)  # level 0 is the single root
    cond = np.maximum(gam / np.bincount(parent, weights=gam, minlength=tree.n_nodes)[parent], floor)
    cond = cond / np.bincount(parent, weights=cond, minlength=tree.n_nodes)[parent]
    cond[tree.level(0)] = 1.0
    log_prob = tree.path_sum(np.log(cond))[tree.leaves]
    weights = np.exp(log_prob - log_prob.max())
    new_tree, order = ScenarioTree.from_paths(tree.ancestors, weights)
    return TTPModel.from_arrays(new_tree, base.buyers, base.supply, base.scenario_values[:, order])


@register(
    "wide_shallow",
    "depth 3, branching >= 20 (depth 1-2 and fewer children below 17,000 pairs), random walks",
)
def wide_shallow(
    rng: np.random.Generator,
    pairs: int,
    *,
    min_branching: int = 20,
    supply: int | tuple[int, int] = (1, 3),
) -> TTPModel:
    """Wide trees: depth 3 and the branching that gives about the default number of buyers."""
    target = _default_buyers(pairs)
    for depth in (3, 2, 1):
        if pairs >= 2 * _nodes(min_branching, depth):
            break
    if pairs >= 2 * _nodes(min_branching, depth):
        want = pairs / target  # nodes wanted: b^depth ≈ that
        branching = max(min_branching, round(want ** (1 / depth)))
    else:  # tiny: one level, as many children as two buyers allow
        branching = max(2, round(pairs / 2) - 1)
    buyers = max(1, round(pairs / _nodes(branching, depth)))
    return _walk_model(rng, depth, buyers, supply, branching=branching)


@register(
    "deep_narrow",
    "binary tree, few buyers (about pairs^(1/8)): depth 14 at 10^5, 17 at 10^6, 19 at 10^7; "
    "μ(t) in 0..1",
)
def deep_narrow(
    rng: np.random.Generator,
    pairs: int,
    *,
    supply: int | tuple[int, int] = (0, 1),
) -> TTPModel:
    """Long horizons: many trading times, few buyers, a permit at about every other time."""
    depth, buyers = _tree_shape(pairs, 2, max(2.0, pairs ** (1 / 8)))
    return _walk_model(rng, depth, buyers, supply)


@register(
    "scarce_supply",
    "binary tree, μ(t) = 1 and 4x the usual buyers: far fewer permits per path than buyers",
)
def scarce_supply(
    rng: np.random.Generator,
    pairs: int,
    *,
    supply: int = 1,
    buyers_factor: float = 4.0,
) -> TTPModel:
    depth, buyers = _tree_shape(pairs, 2, buyers_factor * _default_buyers(pairs))
    return _walk_model(rng, depth, buyers, supply)


@register(
    "abundant_supply",
    "binary tree, μ(t) = 2 x buyers: the supply never binds, each buyer stops alone",
)
def abundant_supply(
    rng: np.random.Generator,
    pairs: int,
    *,
    factor: float = 2.0,
) -> TTPModel:
    depth, buyers = _tree_shape(pairs)
    return _walk_model(rng, depth, buyers, max(1, round(factor * buyers)))


@register(
    "buyer_types",
    "binary tree, 2-9 types (about pairs^(1/5)) with counts in [c, 2c], c = sqrt(pairs) (2 "
    "below 100 pairs, at most 1,000); Σ_t μ(t) about half the buyers",
)
def buyer_types(
    rng: np.random.Generator,
    pairs: int,
    *,
    types: int | None = None,
    count: int | None = None,
    supply_ratio: float = 0.5,
) -> TTPModel:
    """Few types with large counts; pairs = types × nodes."""
    target = types if types is not None else float(np.clip(round(pairs**0.2), 2, 6))
    c = count if count is not None else (2 if pairs < 100 else min(1_000, round(pairs**0.5)))
    depth, n_types = _tree_shape(pairs, 2, target)
    if types is not None:
        n_types = types
    base = _walk_model(rng, depth, n_types, 1, counts=(c, 2 * c))
    per_time = supply_ratio * int(base.counts.sum()) / (depth + 1)
    low, high = max(1, round(0.5 * per_time)), max(1, round(1.5 * per_time))
    return base.with_supply(rng.integers(low, high + 1, size=depth + 1))


@register(
    "windows",
    "binary tree, random walks, a presence window per buyer and early benefits b_i(t) ~ N(0, 1)",
)
def windows(
    rng: np.random.Generator,
    pairs: int,
    *,
    early_benefit: float = 1.0,
    supply: int | tuple[int, int] = (1, 3),
) -> TTPModel:
    depth, buyers = _tree_shape(pairs)
    return _walk_model(rng, depth, buyers, supply, windows=True, early_benefit=early_benefit)


@register(
    "carry_over",
    "binary tree, random walks, μ(t) in 0..2, unsold permits carry over along each path",
)
def carry_over(
    rng: np.random.Generator,
    pairs: int,
    *,
    supply: int | tuple[int, int] = (0, 2),
) -> TTPModel:
    depth, buyers = _tree_shape(pairs)
    return _walk_model(rng, depth, buyers, supply, carry_over=True)


@register(
    "markov_paths",
    "distinct paths over 3 states, weighted by their probability under a sticky Markov chain "
    "(stay 0.8): many nodes with tiny probability",
)
def markov_paths(
    rng: np.random.Generator,
    pairs: int,
    *,
    states: int = 3,
    stay: float = 0.8,
    concentration: float = 1.0,
    horizon: int | None = None,
    supply: int | tuple[int, int] = (1, 3),
) -> TTPModel:
    """Paths drawn with every next state equally likely (so that new paths keep coming), kept
    once each until their distinct prefixes give the wanted number of nodes, and weighted by
    their probability under the chain P = stay·I + (1 − stay)·Dirichlet(concentration) rows:
    paths that switch state often get tiny probabilities. V_i = x_i + Σ_t r_i(s_t)."""
    target = _default_buyers(pairs)
    want = max(3, round(pairs / target))  # nodes
    T = horizon if horizon is not None else max(2, math.ceil(math.log(want, states)) + 1)
    trans = (1.0 - stay) * rng.dirichlet(np.full(states, concentration), size=states)
    trans[np.diag_indices(states)] += stay
    sample = np.zeros((0, T + 1), dtype=np.int64)
    for _ in range(12):  # double the sample until its distinct prefixes are enough nodes
        paths = np.zeros((max(want, sample.shape[0]), T + 1), dtype=np.int64)
        paths[:, 1:] = rng.integers(0, states, size=(paths.shape[0], T))
        sample = np.concatenate([sample, paths])
        firsts = _first_occurrences(sample)
        if sum(len(f) for f in firsts) >= want:
            break
    new_nodes = np.cumsum(np.bincount(np.concatenate(firsts), minlength=sample.shape[0]))
    keep = min(int(np.searchsorted(new_nodes, want)) + 1, sample.shape[0])  # paths for `want`
    distinct = np.sort(firsts[-1][firsts[-1] < keep])
    sample = sample[distinct]
    log_w = np.log(trans[sample[:, :-1], sample[:, 1:]]).sum(axis=1)
    weights = np.exp(log_w - log_w.max())
    nodes = int(new_nodes[keep - 1])
    buyers = max(1, round(pairs / nodes))
    reward = rng.normal(0.0, 1.5, size=(states, buyers))
    values = np.repeat(rng.uniform(-2.0, 8.0, size=(1, buyers)), sample.shape[0], axis=0)
    for t in range(1, T + 1):
        values += reward[sample[:, t]]
    return TTPModel.from_paths(sample, values, _names(buyers), _supply(rng, T, supply), weights)


def _first_occurrences(paths: np.ndarray) -> list[np.ndarray]:
    """Per time t, the row of the first path through each distinct prefix paths[:, :t + 1]
    (each is a node of the tree the paths give; the last one also marks distinct paths)."""
    base = int(paths.max()) + 1
    prefix = np.zeros(paths.shape[0], dtype=np.int64)
    firsts = []
    for t in range(paths.shape[1]):
        _, first, inverse = np.unique(
            prefix * base + paths[:, t], return_index=True, return_inverse=True
        )
        prefix = inverse.reshape(-1).astype(np.int64)
        firsts.append(first)
    return firsts


__all__ = ["FAMILIES", "Family", "make", "register"]
