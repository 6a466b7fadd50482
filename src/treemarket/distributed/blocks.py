"""Blocks whose buyers are generated where they live (a study generator on each worker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from treemarket.ttp.market import BlockSpec
from treemarket.ttp.model import TTPModel


@dataclass(frozen=True)
class GeneratedSource:
    """Builds buyers ``start:stop`` of a generated model: the forecast generator builds just
    those buyers; any other generator builds the whole model and keeps them."""

    generator: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def build(self, start: int, stop: int) -> TTPModel:
        from treemarket.study.generators import forecast_model, generate

        if self.generator == "forecast":
            return forecast_model(self.seed, self.params, buyer_range=(start, stop))
        kind, model = generate(self.generator, self.params, self.seed)
        if kind != "ttp":
            raise ValueError("the market solver needs a TTP model")
        return model.select_buyers(np.arange(start, stop))


def generated_blocks(
    generator: str, params: dict[str, Any], seed: int, blocks: int
) -> list[BlockSpec]:
    """Block specs of a generated model with ``params["buyers"]`` buyers in ``blocks`` blocks."""
    buyers = int(params["buyers"])
    edges = np.linspace(0, buyers, min(blocks, buyers) + 1).round().astype(int).tolist()
    source = GeneratedSource(generator, dict(params), seed)
    return [BlockSpec(a, b, source=source) for a, b in zip(edges[:-1], edges[1:], strict=True)]
