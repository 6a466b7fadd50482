"""Cost of the per-node price ranges against the solve without them, on zoo families and on
random trees, up to 10^4 nodes and more.

Usage: ``cd benchmarks && ../.venv/bin/python price_ranges.py [--pairs 100000] [--families a,b]
[--limit SECONDS] [--solve-limit SECONDS] [--json FILE]``. Each line: the nodes and buyers,
the exact solve without ranges, the ranges alone (``SupportLP.ranges`` on the solution's
priced assignment, after its lowest-revenue price system, as ``solve_exact`` does), and the
LPs the ranges solved over the whole system (for 2 ends per node). Families whose LP is
fractional have no supporting prices and no ranges; they are listed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from treemarket.errors import SolverError
from treemarket.fact import Fact
from treemarket.testing import random_model, zoo
from treemarket.ttp import solve_exact
from treemarket.ttp.prices import SupportLP, revenue_weight

RANDOM_CASES = [
    ("random", {"depth": 8, "buyers": 40}),
    ("random_walk", {"depth": 12, "buyers": 6}),
    ("random_walk", {"depth": 13, "buyers": 4}),
]


def model_of(family: str, pairs: int, params: dict):
    if family == "random":
        return random_model(
            np.random.default_rng(0),
            horizon=params["depth"],
            buyers=params["buyers"],
            branching=2,
            supply=(1, 3),
        )
    return zoo.make(family, pairs, 0, **params)


def measure(family: str, pairs: int, params: dict, limit: float, solve_limit: float) -> dict:
    model = model_of(family, pairs, params)
    row = {
        "family": family,
        "params": params,
        "nodes": int(model.tree.n_nodes),
        "buyers": int(model.n_buyers),
        "load": os.getloadavg()[0],
    }
    start = time.perf_counter()
    sol = solve_exact(model, price_ranges=False, time_limit=solve_limit)
    row["solve_s"] = time.perf_counter() - start
    if not sol.reached:
        row["ranges"] = f"optimum not proven within {solve_limit:g} s"
        return row
    if sol.supported is Fact.REFUTED:
        row["ranges"] = "no supporting prices (fractional LP)"
        return row
    if sol.supported is not Fact.PROVEN:
        row["ranges"] = "supporting prices not known: " + "; ".join(sol.notes)
        return row
    support = SupportLP(model, sol.priced_y)
    support.price_system(revenue_weight(model, sol.priced_y), maximize=False)
    before = support.solves
    start = time.perf_counter()
    try:
        support.ranges(limit)
        row["ranges"] = "computed"
    except SolverError as error:
        row["ranges"] = f"not known: {error}"
    row["ranges_s"] = time.perf_counter() - start
    row["lps"] = support.solves - before
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=float, default=100_000)
    parser.add_argument("--families", default=",".join(sorted(zoo.FAMILIES)) + ",random")
    parser.add_argument("--limit", type=float, default=600.0, help="seconds for the ranges")
    parser.add_argument("--solve-limit", type=float, default=120.0, help="seconds for the solve")
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    for family in args.families.split(","):
        cases = [(f, p) for f, p in RANDOM_CASES if f == family] if family == "random" else []
        if family == "random_walk" or not cases:
            cases = [(family, {})] + [(f, p) for f, p in RANDOM_CASES if f == family]
        for name, params in cases:
            row = measure(name, int(args.pairs), params, args.limit, args.solve_limit)
            rows.append(row)
            ranges = (
                f"ranges {row['ranges_s']:.2f} s ({row['lps']} LPs for {2 * row['nodes']} ends)"
                if "ranges_s" in row
                else ""
            )
            print(
                f"{name} {params or ''}: {row['nodes']} nodes × {row['buyers']} buyers, solve "
                f"without ranges {row['solve_s']:.2f} s, {ranges} {row['ranges']}",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
