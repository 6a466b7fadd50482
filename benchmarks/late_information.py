"""The late-information instance of issue 12 at 10^5 pairs, ``exact`` several times in one
process: the seconds in all, the seconds until the optimum is proven (all but the prices), and
the prices of the LP optimum.

Usage: ``cd benchmarks && ../.venv/bin/python late_information.py [--runs 3] [--pairs 1e5]``.
"""

from __future__ import annotations

import argparse
import time

from treemarket.testing import zoo
from treemarket.ttp import solve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pairs", type=float, default=1e5)
    args = parser.parse_args()
    model = zoo.make("late_information", int(args.pairs), 0)
    for run in range(args.runs):
        start = time.perf_counter()
        sol = solve(model, "exact", price_ranges=False)
        total = time.perf_counter() - start
        prices = sol.timings.get("prices", 0.0)
        print(
            f"run {run}: {total:.2f} s, proven after {total - prices:.2f} s, prices {prices:.2f} s;"
            f" gap {sol.gap:.1e}, LP integral: {sol.lp_integral}",
            flush=True,
        )


if __name__ == "__main__":
    main()
