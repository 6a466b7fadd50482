"""How fast do the market solver's prices converge? Three price updates, same oracle and markets.

* ``subgradient``: plain projected subgradient steps on L(p), p ← max(0, p − a/√k · g) with
  g(n) = P(n) (μ − D(n)) and a chosen so that the first step moves the prices by about 1;
* ``polyak``: Polyak steps on the same subgradient, α = (L(p) − best welfare) / ‖g‖²;
* ``treemarket``: the solver's own update (:class:`PriceSteps`): Polyak steps in per-node units
  (direction μ − D(n), norm weighted by P(n)), deflected against zigzags (γ = 1.5); θ × 0.7
  after 10 iterations without a better bound, restarting from the best prices;
* ``no-deflection``: the same without the deflection (γ = 0).

Each runs until the certified gap reaches the target or the iteration cap; the markets build a
feasible assignment every 10 iterations in all three. Usage:
``cd benchmarks && ../.venv/bin/python price_updates.py 1e5,1e6 [target_gap] [max_iterations]``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from bench_scale import SIZES
from harness import instance

from treemarket.ttp.market import MarketOptions, PriceSteps, SerialTransport, model_blocks
from treemarket.ttp.market.coordinator import initial_prices, run_markets
from treemarket.ttp.market.oracle import supply_value
from treemarket.ttp.market.steps import relative_gap as _gap


def run(model, update: str, target: float, cap: int) -> dict:
    tree = model.tree
    start = time.perf_counter()
    transport = SerialTransport(model_blocks(model))
    transport.call("prepare", None, 1)
    scale = max(1.0, float(np.abs(model.values_by_node).max()))
    options = MarketOptions(deflection=0.0 if update == "no-deflection" else 1.5)
    supply = model.node_supply
    steps = PriceSteps(options, tree.prob, supply > 0, initial_prices(transport, supply))
    price = steps.multiplier.copy()
    first_step = None
    for k in range(1, cap + 1):
        repair = k % 10 == 1
        ((value, demand),) = transport.call("evaluate", price, repair)
        upper, excess = value + supply_value(tree.prob, supply, price), supply - demand
        if repair:
            for slack in (1e-3 * scale, 1e-2 * scale):
                steps.offer(run_markets(transport, price, slack, tree, supply))
        if update in ("treemarket", "no-deflection"):
            steps.multiplier = price
            steps.observe(upper)
            if steps.gap <= target or not steps.step(upper, excess):
                break
            price = steps.multiplier
            continue
        steps.best_upper = min(steps.best_upper, upper)
        if _gap(steps.best_upper, steps.best_lower) <= target:
            break
        g = np.where(model.node_supply > 0, tree.prob * excess, 0.0)
        norm = float(g @ g)
        if norm == 0:
            break
        if update == "subgradient":
            if first_step is None:
                first_step = 1.0 / float(np.abs(g).max())
            alpha = first_step / np.sqrt(k)
        else:
            alpha = max(upper - steps.best_lower, 1e-12) / norm
        price = np.maximum(price - alpha * g, 0.0)
    transport.close()
    return {
        "update": update,
        "iterations": k,
        "seconds": time.perf_counter() - start,
        "gap": _gap(steps.best_upper, steps.best_lower),
    }


def main() -> None:
    sizes = sys.argv[1].split(",") if len(sys.argv) > 1 else ["1e5"]
    target = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-3
    cap = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    for size in sizes:
        model = instance(*SIZES[size])
        for update in ("treemarket", "no-deflection", "polyak", "subgradient"):
            row = run(model, update, target, cap)
            print(size, row, flush=True)


if __name__ == "__main__":
    main()
