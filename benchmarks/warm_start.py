"""Exact solves warm-started from the market solver (issue 5): what does each start save?

Usage: ``../.venv/bin/python warm_start.py [lp|exact|mip] ...``

* ``lp SIZES SEEDS``: the LP relaxation [P1] cold against crossover from the market solver's
  assignment and prices, then simplex (seconds and simplex iterations, both in this process);
* ``exact SIZES SEEDS``: ``solve_exact`` with ``warm_start=False`` and ``True``, end to end;
* ``mip SECONDS``: random medium instances with a fractional LP; their MIP without and with the
  market solver's assignment as the first incumbent.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from bench_scale import SIZES  # noqa: E402
from harness import instance  # noqa: E402

from treemarket.solvers import SolveOptions, Start, get_solver  # noqa: E402
from treemarket.testing import random_model  # noqa: E402
from treemarket.ttp.exact import (  # noqa: E402
    WARM_START_GAP,
    _optimal_assignment,
    solve_exact,
)
from treemarket.ttp.formulation import build  # noqa: E402
from treemarket.ttp.market import MarketOptions, solve_market  # noqa: E402


def _since(start: float) -> float:
    return time.perf_counter() - start


def lp(sizes: str, seeds: str) -> None:
    backend = get_solver("highs")
    for size in sizes.split(","):
        for seed in map(int, seeds.split(",")):
            model = instance(*SIZES[size], seed=seed)
            form = build(model, "path", integer=False)
            t = time.perf_counter()
            cold = backend.solve(form.lp)
            t_cold, t = _since(t), time.perf_counter()
            market = solve_market(model, MarketOptions(target_gap=WARM_START_GAP))
            t_market, t = _since(t), time.perf_counter()
            start, _ = form.start(market.y, market.prices.price)
            t_duals, t = _since(t), time.perf_counter()
            warm = backend.solve(form.lp, start=start)
            t_warm = _since(t)
            assert abs(warm.objective - cold.objective) <= 1e-9 * abs(cold.objective)
            total = t_market + t_duals + t_warm
            print(
                f"{size} seed {seed} ({form.lp.n_cols} columns): cold {t_cold:.2f} s, "
                f"{cold.iterations} it | market {t_market:.2f} s + duals {t_duals:.3f} s + "
                f"crossover/simplex {t_warm:.2f} s "
                f"({warm.info.get('crossover_iterations', 0):.0f} + {warm.iterations} it) | "
                f"cold / warm {t_cold / total:.2f}",
                flush=True,
            )


def exact(sizes: str, seeds: str) -> None:
    for size in sizes.split(","):
        for seed in map(int, seeds.split(",")):
            model = instance(*SIZES[size], seed=seed)
            for warm in (False, True):
                t = time.perf_counter()
                sol = solve_exact(model, price_ranges=False, warm_start=warm)
                seconds = _since(t)
                parts = ", ".join(f"{k} {v:.2f}" for k, v in sol.timings.items())
                print(
                    f"{size} seed {seed} warm_start={warm}: {seconds:.2f} s ({parts}), "
                    f"welfare {sol.welfare!r}, LP integral {sol.lp_integral}",
                    flush=True,
                )


def mip(seconds: str) -> None:
    rng = np.random.default_rng(11)
    backend, options = get_solver("highs"), SolveOptions()
    ratios, totals = [], [0.0, 0.0]
    start = time.time()
    while time.time() - start < float(seconds):
        model = random_model(
            rng,
            horizon=int(rng.integers(4, 8)),
            buyers=int(rng.integers(10, 40)),
            branching=(2, 3),
            supply=(1, 3),
            integer_values=bool(rng.integers(0, 2)),
        )
        if not _optimal_assignment(model, "path", backend, options, {}).fractional:
            continue
        form = build(model, "path", integer=True)
        market = solve_market(model, MarketOptions(target_gap=WARM_START_GAP))
        x = market.y[form.col_buyer, form.col_node]
        t = time.perf_counter()
        cold = backend.solve(form.lp, options)
        t_cold, t = _since(t), time.perf_counter()
        warm = backend.solve(form.lp, options, Start(x))
        t_warm = _since(t)
        assert abs(warm.objective - cold.objective) <= 1e-9 * abs(cold.objective)
        ratios.append(t_warm / t_cold)
        totals[0] += t_cold
        totals[1] += t_warm
        print(
            f"{form.lp.n_cols} columns: MIP cold {t_cold:.2f} s, with incumbent {t_warm:.2f} s",
            flush=True,
        )
    if ratios:
        geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
        print(
            f"{len(ratios)} fractional instances: with/without incumbent geometric mean "
            f"{geo:.2f} (range {min(ratios):.2f}-{max(ratios):.2f}, faster in "
            f"{sum(r < 1 for r in ratios)}); total {totals[0]:.1f} s -> {totals[1]:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    {"lp": lp, "exact": exact, "mip": mip}[sys.argv[1]](*sys.argv[2:])
