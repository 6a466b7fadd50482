"""Buyer types (issue 5): 10^5 buyers in 100 types cost about what 100 buyers cost.

The same tree and value processes three ways: 100 types with counts summing to about 10^5 (supply
scaled to match), the same 100 value processes as single buyers (supply scaled down), and, where
the expanded model still fits, every copy as its own buyer. ``exact`` and ``market`` on each,
with the welfare (types and their expansion must agree) and the wall time.

Usage: ``cd benchmarks && ../.venv/bin/python bench_types.py``.
"""

from __future__ import annotations

import time

import numpy as np

from treemarket.testing import random_model
from treemarket.ttp import TTPModel, solve_exact
from treemarket.ttp.market import MarketOptions, solve_market


def typed(seed: int, depth: int, types: int, count: int, supply: tuple[int, int]) -> TTPModel:
    rng = np.random.default_rng(seed)
    model = random_model(
        rng, horizon=depth, buyers=types, branching=2, supply=supply, step=2.0, integer_values=False
    )
    return TTPModel.from_arrays(
        model.tree,
        model.buyers,
        model.supply,
        model.scenario_values,
        counts=np.full(types, count),
        name="typed",
    )


def expanded(model: TTPModel) -> TTPModel:
    names = [f"{b}_{k}" for b, c in zip(model.buyers, model.counts, strict=True) for k in range(c)]
    values = np.repeat(model.scenario_values, model.counts, axis=0)
    return TTPModel.from_arrays(model.tree, names, model.supply, values, name="expanded")


def timed(label: str, model: TTPModel) -> None:
    start = time.perf_counter()
    exact = solve_exact(model, price_ranges=False)
    t_exact = time.perf_counter() - start
    start = time.perf_counter()
    market = solve_market(model, MarketOptions(target_gap=1e-3))
    t_market = time.perf_counter() - start
    print(
        f"{label:44s} buyers={int(model.counts.sum()):>7d} entries={model.n_buyers:>5d} "
        f"exact {t_exact:7.3f} s welfare {exact.welfare:.6f} | market {t_market:6.3f} s "
        f"gap {market.gap:.1e}",
        flush=True,
    )


def main() -> None:
    depth = 8
    for count, supply in ((1, (1, 3)), (1000, (1000, 3000))):
        timed(f"100 types x {count} (depth {depth})", typed(0, depth, 100, count, supply))
    small = typed(1, 6, 20, 50, (50, 150))
    timed("20 types x 50 (depth 6)", small)
    timed("the same, 1,000 single buyers", expanded(small))


if __name__ == "__main__":
    main()
