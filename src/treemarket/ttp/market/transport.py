"""How the coordinator reaches the blocks: one small interface, the serial transport here.

The Dask and MPI transports, for blocks on other processes and machines, live in
:mod:`treemarket.distributed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from treemarket.ttp.market.block import BlockSpec, MarketBlock


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
        for block in self.blocks:
            block.close()
