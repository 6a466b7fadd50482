"""One block of buyers: its best responses and its part of the sequential markets.

Best responses are separable across buyers, so the buyers split into blocks, each kept where it
lives (in this process, on a Dask worker, on an MPI rank). A block only ever receives prices and
the units its candidates were served, and returns per-node vectors and its candidates for each
market; the coordinator (:mod:`treemarket.ttp.market.coordinator`) does the rest. The serial
solver is the case of one block.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.market.oracle import DualOracle
from treemarket.ttp.model import TTPModel

BIG = 10**6  # buyers × nodes from which a block iterates in float32 and in threads

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Candidates = tuple[IntArray, IntArray, FloatArray, NDArray[np.floating], NDArray[np.floating]]


class BlockSource(Protocol):
    """Builds the model of buyers ``start:stop`` where the block lives (e.g. a generator)."""

    def build(self, start: int, stop: int) -> TTPModel: ...


@dataclass(frozen=True)
class BlockSpec:
    """How to build one block: a ``model`` shipped as it is, or a ``source`` that builds the
    buyers ``start:stop`` of a model where the block lives."""

    start: int
    stop: int
    model: TTPModel | None = None
    source: BlockSource | None = None

    def build(self) -> TTPModel:
        if self.model is not None:
            return self.model
        if self.source is None:
            raise ValueError("a block needs a model or a source")
        return self.source.build(self.start, self.stop)


def model_blocks(model: TTPModel, blocks: int = 1) -> list[BlockSpec]:
    """Specs of ``blocks`` blocks of consecutive buyers of ``model`` (one: the model itself)."""
    if blocks <= 1:
        return [BlockSpec(0, model.n_buyers, model=model)]
    edges = np.linspace(0, model.n_buyers, min(blocks, model.n_buyers) + 1).round().astype(int)
    return [
        BlockSpec(a, b, model=model.select_buyers(np.arange(a, b)))
        for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)
    ]


@dataclass
class Purchases:
    """An assignment as a list: ``units`` of buyer ``buyer`` bought at node ``node``."""

    node: IntArray
    buyer: IntArray
    units: FloatArray

    @classmethod
    def empty(cls) -> Purchases:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))

    def welfare(self, model: TTPModel) -> float:
        """E[Σ v y] = Σ P(n) v_i(n) y_i(n), from the model's float64 values."""
        value = model.values_by_node[self.node, self.buyer]
        return float(np.sum(model.tree.prob[self.node] * value * self.units))

    def dense(self, model: TTPModel) -> FloatArray:
        """y as a buyers × nodes array."""
        y = np.zeros((model.n_buyers, model.tree.n_nodes))
        y[self.buyer, self.node] = self.units
        return y


class MarketBlock:
    """The buyers of one block: best responses, candidates for each market, its purchases."""

    def __init__(self, spec: BlockSpec) -> None:
        self.model = spec.build()
        self.offset = spec.start
        self.oracle: DualOracle | None = None
        self.best = Purchases.empty()
        self._run: list[tuple[IntArray, IntArray, FloatArray]] = []
        self.stopping_value: FloatArray | None = None
        self._soft = False

    def prepare(self, float32: bool | None, threads: int | None) -> dict[str, Any]:
        """Set up the best responses; the block's sizes, value scale and the tree's data."""
        model, tree = self.model, self.model.tree
        values = model.values_by_node
        big = values.size >= BIG
        dtype = np.float32 if (big if float32 is None else float32) else np.float64
        n_threads = threads if threads is not None else (os.cpu_count() or 1) if big else 1
        if self.oracle is not None:
            self.oracle.close()
        self.oracle = DualOracle(model, dtype, n_threads)
        return {
            "scale": float(np.abs(values).max()) if values.size else 0.0,
            "tree": tree,
            "supply": model.node_supply,
            "open": model.market_open,
            "carry_over": model.carry_over,
            "float32": dtype == np.float32,
        }

    def close(self) -> None:
        if self.oracle is not None:
            self.oracle.close()

    def top_units(self) -> tuple[FloatArray, IntArray]:
        """Per node, the block's μ + 1 highest unit values of the buyers who can trade there
        (zero-padded) and their counts: enough to find the (μ + 1)-th unit of all blocks."""
        model, tree = self.model, self.model.tree
        width = min(model.n_buyers, int(model.supply.max(initial=0)) + 1)
        values = np.zeros((tree.n_nodes, width))
        counts = np.zeros((tree.n_nodes, width), dtype=np.int64)
        for t in range(tree.horizon + 1):
            mu = int(model.supply[t])
            if mu <= 0:
                continue
            level = tree.level(t)
            active = model.active_at(t)
            v = np.where(active[None, :], np.maximum(model.values_by_node[level], 0.0), 0.0)
            c = np.broadcast_to(np.where(active, model.counts, 0), v.shape)
            keep = min(v.shape[1], mu + 1)
            if v.shape[1] > keep:
                top = np.argpartition(-v, keep - 1, axis=1)[:, :keep]
                v, c = np.take_along_axis(v, top, axis=1), np.take_along_axis(c, top, axis=1)
            values[level, :keep], counts[level, :keep] = v, c
        return values, counts

    def evaluate(self, price: FloatArray, keep_option: bool) -> tuple[float, FloatArray]:
        """Best responses at ``price``: the block's part Σ_i count_i E[W_i(0)] of L(p) and its
        demand per node (the option values are kept for the markets when asked)."""
        assert self.oracle is not None, "prepare() first"
        return self.oracle.buyers_value(price, keep_option)

    def smooth(
        self, price: FloatArray, tau: float, keep_option: bool
    ) -> tuple[float, float, FloatArray]:
        """Soft best responses at ``price`` and temperature ``tau``: the block's parts of
        L_τ(p) and of L(p), and its soft demand per node (the soft purchase probabilities are
        kept for the markets; the option values too when asked)."""
        assert self.oracle is not None, "prepare() first"
        return self.oracle.smoothed_value(price, tau, keep_option)

    def open_markets(self, price: FloatArray, slack: float, soft: bool = False) -> None:
        """Start a run of the sequential markets at ``price`` (those of the last evaluate with
        ``keep_option``): buyers within ``slack`` of indifference also demand; with ``soft``
        (after :meth:`smooth`) buyers demand by their soft purchase probabilities instead."""
        self._price, self._slack, self._soft = price, slack, soft
        self._run = []
        self._left = np.zeros((0, self.model.n_buyers), dtype=np.int32)
        self._proposed: tuple[IntArray, IntArray, int] | None = None

    def propose(self, t: int, served: FloatArray | None, capacity: FloatArray) -> Candidates:
        """Take the units served to the last proposal (level t − 1) and propose the buyers of
        level t, whose nodes have ``capacity`` permits: (node, buyer, units demanded, score,
        value) per candidate.

        At each node the buyers still in the market whose surplus over the option value of
        waiting, v − p − E[W(t+1)], is at least −slack demand their remaining units (at the
        leaves every positive value demands: there is nothing to wait for); they rank by that
        surplus (the value at the leaves), then by value. In a soft run a buyer with r units
        left and soft purchase probability q demands ⌈r q⌉ units (when positive) and ranks by
        q: a type splits its units the way the smoothed best responses do. Only the k best of
        the block per node (k the level's largest capacity, and whoever ties with the k-th)
        are proposed: no later one can be served.
        """
        model, tree = self.model, self.model.tree
        assert self.oracle is not None
        self._take(served)
        level = tree.level(t)
        if t == 0:
            remaining = np.repeat(model.counts[None, :].astype(np.int32), level.stop, axis=0)
        else:
            remaining = self._left[tree.parent[level] - tree.level(t - 1).start]
        self._left = remaining
        mu = int(capacity.max(initial=0))
        values = self.oracle.values
        n_buyers = values.shape[1]
        if mu <= 0:
            return self._propose_none()
        v = values[level]
        wants = (v > 0) & (remaining > 0) & model.active_at(t)[None, :] & (capacity > 0)[:, None]
        units = remaining
        if t < tree.horizon and self._soft:
            assert self.oracle.soft is not None
            score = self.oracle.soft[level].copy()
            units = np.minimum(np.ceil(remaining * score - 1e-6), remaining)
            wants &= units > 0
        elif t < tree.horizon:
            assert self.oracle.option is not None
            score = v - self._price[level, None].astype(v.dtype) - self.oracle.option[level]
            wants &= score >= -self._slack
        else:
            score = v.copy()
        score[~wants] = -np.inf
        if n_buyers > mu:  # keep the μ best per node, and whoever ties with the μ-th
            kth = np.partition(score, n_buyers - mu, axis=1)[:, n_buyers - mu]
            wants &= score >= kth[:, None]
        k, b = np.nonzero(wants)
        self._proposed = (k, b, level.start)
        return (
            k + level.start,
            b + self.offset,
            units[k, b].astype(np.float64),
            score[k, b],
            v[k, b],
        )

    def _propose_none(self) -> Candidates:
        self._proposed = None
        none = np.zeros(0, dtype=np.int64)
        return none, none, np.zeros(0), np.zeros(0), np.zeros(0)

    def _take(self, served: FloatArray | None) -> None:
        """Apply the units served to the last proposal."""
        if served is None or self._proposed is None:
            return
        k, b, start = self._proposed
        some = served > 0
        k, b, units = k[some], b[some], served[some]
        self._left[k, b] -= units.astype(np.int32)
        self._run.append((k + start, b, units))
        self._proposed = None

    def finish(self, served: FloatArray | None) -> float:
        """Take the last level's units; the block's expected welfare Σ P(n) v_i(n) y_i(n)."""
        self._take(served)
        if self._run:
            node, buyer, units = (np.concatenate(part) for part in zip(*self._run, strict=True))
            self.current = Purchases(node.astype(np.int64), buyer.astype(np.int64), units)
        else:
            self.current = Purchases.empty()
        return self.current.welfare(self.model)

    def keep(self) -> None:
        """Remember the last markets' purchases as the best ones."""
        self.best = self.current

    def certify(self, price: FloatArray, keep_value: bool = False) -> float:
        """The block's part of L(p) in float64 (W, nodes × buyers, kept when asked)."""
        assert self.oracle is not None
        if keep_value:
            self.stopping_value = np.empty(self.model.values_by_node.shape)
        return self.oracle.certify(price, self.stopping_value if keep_value else None)

    def purchases(self) -> Purchases:
        """The best purchases found, buyers numbered within the block."""
        return self.best
