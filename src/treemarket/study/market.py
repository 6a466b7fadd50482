"""The market (Lagrangian) solver on blocks of buyers spread over workers.

Best responses are separable across buyers, so a model too large for one machine splits into
blocks of buyers, each generated and kept on its own worker. Each iteration the coordinator
broadcasts the prices (one number per node) and gathers, per block, its part of the dual value
and of the demand per node; every ``repair_every`` iterations the sequential markets run level by
level, each block proposing only the buyers that could be served at each node. The algorithm is
the one of :func:`treemarket.ttp.market_solver.solve_market`, step for step: with one block it
returns exactly the same bounds, and with several blocks every transport returns exactly the same
bounds as the serial one (the blocks' parts are added in block order).

Transports, behind one interface (:class:`Transport`):

* :class:`SerialTransport`: the blocks in this process (the reference; no parallelism).
* :class:`DaskTransport`: one Dask actor per block, on the workers of a ``distributed.Client``;
  actors talk to the client directly, without a scheduler round trip per call.
* :class:`MPITransport`: one block per MPI rank (``mpiexec -n K python -m
  treemarket.study.market ...``), prices broadcast and loads gathered by mpi4py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from treemarket.ttp.market_solver import DualOracle, MarketOptions, PriceSteps, supply_value
from treemarket.ttp.model import TTPModel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# ---------------------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class BlockSpec:
    """How to build one block of buyers where it lives.

    Either a generator (``generator``, ``params``, ``seed``; the forecast model generates just
    the block's buyers, other generators the whole model and keep the block) or a ``model``
    shipped as it is. ``start``/``stop`` are the block's buyer indices in the whole model.
    """

    start: int
    stop: int
    generator: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    model: TTPModel | None = None


def generated_blocks(generator: str, params: dict[str, Any], seed: int, blocks: int
                     ) -> list[BlockSpec]:  # fmt: skip
    """Block specs of a generated model with ``params["buyers"]`` buyers in ``blocks`` blocks."""
    buyers = int(params["buyers"])
    edges = np.linspace(0, buyers, min(blocks, buyers) + 1).round().astype(int).tolist()
    return [
        BlockSpec(start=a, stop=b, generator=generator, params=dict(params), seed=seed)
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]


def model_blocks(model: TTPModel, blocks: int) -> list[BlockSpec]:
    """Block specs that carry slices of an in-memory ``model`` (shipped to the workers)."""
    edges = np.linspace(0, model.n_buyers, min(blocks, model.n_buyers) + 1).round().astype(int)
    out = []
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        out.append(BlockSpec(start=a, stop=b, model=model.select_buyers(np.arange(a, b))))
    return out


def build_block_model(spec: BlockSpec) -> TTPModel:
    """The block's model (generated here when the spec names a generator)."""
    if spec.model is not None:
        return spec.model
    if spec.generator == "forecast":
        from treemarket.study.generators import forecast_model

        return forecast_model(spec.seed, spec.params, buyer_range=(spec.start, spec.stop))
    from treemarket.study.generators import generate

    kind, model = generate(str(spec.generator), spec.params, spec.seed)
    if kind != "ttp":
        raise ValueError("the market solver needs a TTP model")
    return model.select_buyers(np.arange(spec.start, spec.stop))


class MarketBlock:
    """One block of buyers: its best responses and its part of the markets.

    It holds the block's model, the last best responses and the markets' state; the
    coordinator only ever sends prices and served amounts and receives per-node vectors and
    the candidates of each market.
    """

    def __init__(self, spec: BlockSpec) -> None:
        self.model = build_block_model(spec)
        if self.model.carry_over:
            raise ValueError("the market solver does not handle carry_over: use method='exact'")
        self.offset = spec.start
        self.oracle = DualOracle(self.model)
        self.evaluated = False
        self.y = np.zeros(0)
        self.remaining = np.zeros(0)
        self.best_y = np.zeros(self.model.values.shape)
        self.slack = 0.0

    def info(self) -> dict[str, Any]:
        """Sizes, the value scale and (from any block) the tree's per-node data."""
        model, tree = self.model, self.model.tree
        values = model.values
        return {
            "buyers": model.n_buyers,
            "scale": float(np.abs(values).max()) if values.size else 0.0,
            "prob": tree.prob,
            "supply": model.node_supply,
            "levels": tree.level_offsets,
        }

    def top_units(self) -> tuple[FloatArray, IntArray]:
        """Per node, the block's highest unit values (as in the myopic clearing price) and
        their counts: enough rows to contain the (μ + 1)-th unit of the whole model."""
        model = self.model
        values = np.where(model.can_buy, np.maximum(model.values, 0.0), 0.0)
        keep = min(values.shape[0], int(model.node_supply.max(initial=0)) + 1)
        order = np.argsort(-values, axis=0, kind="stable")[:keep]
        return np.take_along_axis(values, order, axis=0), model.counts[order]

    def evaluate(self, price: FloatArray) -> tuple[float, FloatArray]:
        """Best responses at ``price``: the block's part of L(p) and its demand per node."""
        self.evaluated = True
        return self.oracle.buyers_value(price, keep_option=True)

    def market_level(
        self, t: int, slack: float, served: tuple[IntArray, IntArray, FloatArray] | None
    ) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
        """Apply the amounts served at level t − 1 and propose the buyers of level t.

        Returns (buyer, node, demand, score, value) of every buyer of the block who wants
        units at a node of level t, cut per node after the first buyers whose demand covers
        μ(t) (the later ones cannot be served whatever the other blocks propose).
        """
        model, tree = self.model, self.model.tree
        if not self.evaluated:
            raise RuntimeError("evaluate() must come before the markets")
        values = model.values
        if t == 0:
            self.y = np.zeros(values.shape)
            self.remaining = np.zeros(values.shape)
            self.remaining[:, tree.level(0)] = model.counts[:, None]
            self.slack = slack
        if served is not None:
            b, node, amount = served
            self.y[b - self.offset, node] = amount
        level = tree.level(t)
        if t > 0:
            par = tree.parent[level]
            self.remaining[:, level] = self.remaining[:, par] - self.y[:, par]
        gain = values[:, level] - self._price[None, level] - self.oracle.option[level].T
        v = values[:, level]
        if t == tree.horizon:
            wants = (v > 0) & model.can_buy[:, level]
        else:
            wants = (gain >= -self.slack) & (v > 0) & model.can_buy[:, level]
        demand = np.where(wants, self.remaining[:, level], 0.0)
        b, k = np.nonzero(demand > 0)
        node = k + level.start
        value = values[b, node]
        score = value if t == tree.horizon else gain[b, k]
        d = demand[b, k]
        order = np.lexsort((b, -value, -score, node))
        b, node, d, score, value = b[order], node[order], d[order], score[order], value[order]
        if b.size:
            cum = np.cumsum(d)
            first = np.searchsorted(node, node, side="left")
            before = cum - d - (cum[first] - d[first])
            useful = before < model.node_supply[node]
            b, node, d, score, value = b[useful], node[useful], d[useful], score[useful], value[
                useful]  # fmt: skip
        return b + self.offset, node, d, score, value

    def set_price(self, price: FloatArray) -> None:
        """The prices of the markets about to run (those of the last :meth:`evaluate`)."""
        self._price = price

    def market_finish(self, served: tuple[IntArray, IntArray, FloatArray]) -> FloatArray:
        """Apply the last level's amounts; the block's welfare per node Σ_i v_i(n) y_i(n)."""
        b, node, amount = served
        self.y[b - self.offset, node] = amount
        return np.einsum("in,in->n", self.model.values, self.y)

    def keep(self) -> None:
        """Remember the last markets' assignment as the best one."""
        self.best_y = self.y.copy()

    def assignment(self) -> FloatArray:
        """The best assignment of the block's buyers (buyers × nodes)."""
        return self.best_y


# ------------------------------------------------------------------------------ transports
class Transport(Protocol):
    """Calls a :class:`MarketBlock` method on every block and returns the results in block
    order (``call``: the same arguments everywhere; ``call_each``: one tuple per block)."""

    name: str
    n_blocks: int

    def call(self, method: str, *args: Any) -> list[Any]: ...

    def call_each(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]: ...

    def close(self) -> None: ...


class SerialTransport:
    """Every block in this process, called one after the other."""

    name = "serial"

    def __init__(self, specs: Sequence[BlockSpec]) -> None:
        self.blocks = [MarketBlock(spec) for spec in specs]
        self.n_blocks = len(self.blocks)

    def call(self, method: str, *args: Any) -> list[Any]:
        return [getattr(block, method)(*args) for block in self.blocks]

    def call_each(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        return [getattr(b, method)(*a) for b, a in zip(self.blocks, args, strict=True)]

    def close(self) -> None:
        self.blocks = []


class DaskTransport:
    """One Dask actor per block, placed round-robin on the client's workers; the block is
    built on its worker (generated there when the spec names a generator)."""

    name = "dask"

    def __init__(self, client: Any, specs: Sequence[BlockSpec]) -> None:
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise RuntimeError("the Dask cluster has no workers")
        futures = [
            client.submit(
                MarketBlock, spec, actor=True, workers=[workers[k % len(workers)]], pure=False
            )  # fmt: skip
            for k, spec in enumerate(specs)
        ]
        self._futures = futures
        self.actors = [f.result() for f in futures]
        self.n_blocks = len(self.actors)

    def call(self, method: str, *args: Any) -> list[Any]:
        pending = [getattr(actor, method)(*args) for actor in self.actors]
        return [p.result() for p in pending]

    def call_each(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        pending = [getattr(a, method)(*x) for a, x in zip(self.actors, args, strict=True)]
        return [p.result() for p in pending]

    def close(self) -> None:
        for future in self._futures:
            future.release()
        self.actors = []


class MPITransport:
    """Block k on MPI rank k + 1 (rank 0 coordinates); run the coordinator on rank 0 and
    :func:`mpi_serve` on the others."""

    name = "mpi"

    def __init__(self, comm: Any, specs: Sequence[BlockSpec]) -> None:
        if comm.Get_size() != len(specs) + 1:
            raise ValueError(f"{len(specs)} blocks need {len(specs) + 1} MPI ranks")
        self.comm = comm
        self.n_blocks = len(specs)
        for rank, spec in enumerate(specs, start=1):
            comm.send(spec, dest=rank)
        errors = [e for e in comm.gather(None, root=0)[1:] if e]
        if errors:
            raise RuntimeError(errors[0])

    def call(self, method: str, *args: Any) -> list[Any]:
        self.comm.bcast((method, args, None), root=0)
        return self._gather()

    def call_each(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        self.comm.bcast((method, None, None), root=0)
        self.comm.scatter([None, *args], root=0)
        return self._gather()

    def _gather(self) -> list[Any]:
        results = self.comm.gather(None, root=0)[1:]
        for item in results:
            if isinstance(item, _RemoteError):
                raise RuntimeError(item.message)
        return results

    def close(self) -> None:
        self.comm.bcast(None, root=0)


@dataclass
class _RemoteError:
    message: str


def mpi_serve(comm: Any) -> None:
    """The loop of an MPI rank > 0: build its block, then answer the coordinator's calls."""
    spec = comm.recv(source=0)
    block = None
    try:
        block = MarketBlock(spec)
        comm.gather(None, root=0)
    except Exception as exc:  # reported by the coordinator
        comm.gather(f"{type(exc).__name__}: {exc}", root=0)
    while True:
        message = comm.bcast(None, root=0)
        if message is None or block is None:
            return
        method, args, _ = message
        if args is None:
            args = comm.scatter(None, root=0)
        try:
            result: Any = getattr(block, method)(*args)
        except Exception as exc:
            result = _RemoteError(f"{type(exc).__name__}: {exc}")
        comm.gather(result, root=0)


# ----------------------------------------------------------------------------- coordinator
@dataclass
class BlockMarketResult:
    """The certificate of the block market solver and where its time went."""

    welfare: float
    upper_bound: float
    gap: float
    iterations: int
    price: FloatArray
    blocks: int
    transport: str
    seconds: float
    history: list[tuple[int, float, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "welfare": self.welfare,
            "upper_bound": self.upper_bound,
            "lp_bound": self.upper_bound,
            "gap": self.gap,
            "iterations": self.iterations,
            "blocks": self.blocks,
            "transport": self.transport,
            "seconds": self.seconds,
        }


def solve_market_blocks(
    transport: Transport,
    options: MarketOptions | None = None,
    progress: Callable[[int, float, float, float], None] | None = None,
) -> BlockMarketResult:
    """The market solver of :func:`~treemarket.ttp.market_solver.solve_market` over the
    transport's blocks: the same prices, steps, repairs and stopping rules.

    Examples
    --------
    >>> from treemarket.ttp.examples import weather
    >>> res = solve_market_blocks(SerialTransport(model_blocks(weather(), 2)))
    >>> res.welfare, res.gap <= 1e-3
    (12.0, True)
    """
    opts = options or MarketOptions()
    start = time.perf_counter()
    infos = transport.call("info")
    prob = infos[0]["prob"]
    node_supply = infos[0]["supply"]
    levels = infos[0]["levels"]
    horizon = len(levels) - 2
    supply = node_supply.astype(np.float64)
    scale = max(1.0, max(info["scale"] for info in infos))
    steps = PriceSteps(
        opts, prob, supply > 0, _initial_prices(transport.call("top_units"), node_supply)
    )
    iterations = 0
    history: list[tuple[int, float, float]] = []
    for iterations in range(1, opts.max_iterations + 1):
        price = steps.price
        parts = transport.call("evaluate", price)
        upper = 0.0
        demand = np.zeros(supply.shape)
        for value, block_demand in parts:
            upper += value
            demand = demand + block_demand
        upper += supply_value(prob, node_supply, price)
        if iterations % opts.repair_every == 1 or opts.repair_every == 1:
            transport.call("set_price", price)
            for slack in (1e-3 * scale, 1e-2 * scale):
                lower = _run_markets(transport, slack, horizon, node_supply, prob)
                if steps.offer(lower):
                    transport.call("keep")
        steps.observe(upper)
        history.append((iterations, steps.best_upper, steps.best_lower))
        if progress is not None:
            progress(iterations, steps.best_upper, steps.best_lower, steps.gap)
        if steps.gap <= opts.target_gap or time.perf_counter() - start > opts.time_limit:
            break
        if not steps.step(upper, supply - demand):
            break
    best_upper, best_lower, best_price = steps.best_upper, steps.best_lower, steps.best_price
    return BlockMarketResult(
        welfare=best_lower, upper_bound=best_upper, gap=steps.gap,
        iterations=iterations, price=best_price, blocks=transport.n_blocks,
        transport=transport.name, seconds=time.perf_counter() - start, history=history,
    )  # fmt: skip


def _run_markets(
    transport: Transport, slack: float, horizon: int, node_supply: IntArray, prob: FloatArray
) -> float:
    """The sequential markets over the blocks, level by level; the expected welfare."""
    served: list[Any] = [None] * transport.n_blocks
    for t in range(horizon + 1):
        proposals = transport.call_each("market_level", [(t, slack, s) for s in served])
        served = _allocate(proposals, node_supply)
    welfare = np.zeros(prob.shape)
    for part in transport.call_each("market_finish", [(s,) for s in served]):
        welfare = welfare + part
    return float(np.sum(prob * welfare))


def _allocate(
    proposals: list[tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]],
    node_supply: IntArray,
) -> list[tuple[IntArray, IntArray, FloatArray]]:
    """Serve at most μ(t) units per node, largest score first (ties: value, then buyer)."""
    owner = np.concatenate([np.full(p[0].shape[0], k) for k, p in enumerate(proposals)])
    b, node, d, score, value = (np.concatenate([p[j] for p in proposals]) for j in range(5))
    order = np.lexsort((b, -value, -score, node))
    b, node, d, owner = b[order], node[order], d[order], owner[order]
    cum = np.cumsum(d)
    first = np.searchsorted(node, node, side="left")
    before = cum - d - (cum[first] - d[first]) if b.size else d
    amount = np.clip(node_supply[node] - before, 0.0, d)
    return [(b[owner == k], node[owner == k], amount[owner == k]) for k in range(len(proposals))]


def _initial_prices(parts: list[tuple[FloatArray, IntArray]], node_supply: IntArray) -> FloatArray:
    """The myopic clearing price per node from the blocks' top unit values."""
    values = np.concatenate([p[0] for p in parts], axis=0)
    counts = np.concatenate([p[1] for p in parts], axis=0)
    n_nodes = values.shape[1]
    order = np.argsort(-values, axis=0, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=0)
    units = np.cumsum(np.take_along_axis(counts, order, axis=0), axis=0)
    beyond = units > node_supply[None, :]
    has = beyond.any(axis=0)
    first = np.argmax(beyond, axis=0)
    price = np.where(has, sorted_values[first, np.arange(n_nodes)], 0.0)
    return np.where(node_supply > 0, price, 0.0)


def mpi_main(argv: Sequence[str] | None = None) -> int:
    """``mpiexec -n K+1 python -m treemarket.study.market --generator forecast --params JSON``:
    the block market solver with one block per rank > 0; rank 0 prints the JSON result."""
    import argparse
    import json
    import sys

    from mpi4py import MPI

    parser = argparse.ArgumentParser(prog="python -m treemarket.study.market")
    parser.add_argument("--generator", default="forecast")
    parser.add_argument("--params", default="{}", help="the generator's parameters (JSON)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iterations", type=int, default=MarketOptions.max_iterations)
    parser.add_argument("--target-gap", type=float, default=MarketOptions.target_gap)
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    if comm.Get_rank() != 0:
        mpi_serve(comm)
        return 0
    if comm.Get_size() < 2:
        print("run with mpiexec -n K+1 (K blocks)", file=sys.stderr)
        return 2
    specs = generated_blocks(args.generator, json.loads(args.params), args.seed,
                             comm.Get_size() - 1)  # fmt: skip
    transport = MPITransport(comm, specs)
    try:
        options = MarketOptions(max_iterations=args.max_iterations, target_gap=args.target_gap)
        result = solve_market_blocks(transport, options)
    finally:
        transport.close()
    sys.stdout.write(json.dumps(result.to_json()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(mpi_main())
