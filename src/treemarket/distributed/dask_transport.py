"""Blocks as Dask actors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from treemarket.errors import TreemarketError
from treemarket.ttp.market import BlockSpec, MarketBlock


class DaskTransport:
    """One Dask actor per block, placed round-robin on the client's workers; each block is
    built on its worker (generated there when its spec has a source)."""

    name = "dask"

    def __init__(self, client: Any, specs: Sequence[BlockSpec]) -> None:
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise TreemarketError("the Dask cluster has no workers")
        futures = [
            client.submit(
                MarketBlock, spec, actor=True, workers=[workers[k % len(workers)]], pure=False
            )
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
