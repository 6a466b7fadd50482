"""Blocks on MPI ranks: rank 0 coordinates, rank k + 1 holds block k."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from treemarket.errors import TreemarketError
from treemarket.ttp.market import BlockSpec, MarketBlock


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
            raise TreemarketError(errors[0])

    def call(self, method: str, *args: Any) -> list[Any]:
        self.comm.bcast((method, args), root=0)
        return self._gather()

    def call_each(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        self.comm.bcast((method, None), root=0)
        self.comm.scatter([None, *args], root=0)
        return self._gather()

    def _gather(self) -> list[Any]:
        results = self.comm.gather(None, root=0)[1:]
        for item in results:
            if isinstance(item, _RemoteError):
                raise TreemarketError(item.message)
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
        method, args = message
        if args is None:
            args = comm.scatter(None, root=0)
        try:
            result: Any = getattr(block, method)(*args)
        except Exception as exc:
            result = _RemoteError(f"{type(exc).__name__}: {exc}")
        comm.gather(result, root=0)
