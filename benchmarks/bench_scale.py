"""Performance at scale (issue 5): treemarket exact and market against what users would write.

Side by side on the same generated instances (binary trees, random-walk values), each case in a
fresh process (its own peak memory) with a time limit:

* A ``pyomo``: the model as a user writes it in Pyomo, MIP solved by HiGHS (appsi_highs);
* B ``scipy``: the naive path formulation on ``scipy.optimize.milp``;
* C ``glop``: OR-Tools GLOP on the same (pruned) LP relaxation;
* treemarket ``exact`` and ``market`` (target gap 0.1%).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from baselines import glop_lp, pyomo_highs
from harness import instance, isolated, peak_mb

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

# name -> (depth of the binary tree, buyers); variables = buyers x nodes
SIZES = {
    "1e4": (7, 40),
    "1e5": (10, 50),
    "1e6": (13, 61),
    "1e7": (15, 153),
    "1e8": (16, 763),
}


def _case(kind: str, size: str, limit: float, gap: float, out) -> None:
    depth, buyers = SIZES[size]
    row = {"kind": kind, "size": size}
    start = time.perf_counter()
    model = instance(depth, buyers)
    _ = model.values
    row["variables"] = int(model.values.size)
    row["generate_s"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        if kind == "pyomo":
            row.update(pyomo_highs(model, limit))
        elif kind == "scipy":
            from baselines import naive_path_milp

            row["objective"], row["status"] = naive_path_milp(model, time_limit=limit)
        elif kind == "glop":
            row.update(glop_lp(model, limit))
        elif kind == "exact":
            from treemarket.ttp import solve_exact

            sol = solve_exact(model, price_ranges=False, time_limit=limit)
            row["objective"], row["bound"], row["gap"] = sol.welfare, sol.upper_bound, sol.gap
        elif kind == "market":
            from treemarket.ttp.market import MarketOptions, solve_market

            sol = solve_market(model, MarketOptions(target_gap=gap, time_limit=limit))
            row["objective"], row["bound"], row["gap"] = sol.welfare, sol.upper_bound, sol.gap
            row["iterations"] = sol.stats["iterations"]
            row["target_gap"] = gap
            row["per_iteration_s"] = sol.timings["market"] / sol.stats["iterations"]
    except Exception as exc:  # a baseline that cannot cope is a result, recorded as such
        row["error"] = f"{type(exc).__name__}: {exc}"[:200]
    row["seconds"] = time.perf_counter() - start
    row["peak_mb"] = peak_mb()
    out.put(row)


def run(kind: str, size: str, limit: float, gap: float = 1e-3) -> dict:
    row = isolated(_case, kind, size, limit, gap, limit=limit * 3 + 120)
    return {"kind": kind, "size": size, **row} if "error" in row else row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", default="1e4,1e5", help="comma-separated, from " + ",".join(SIZES)
    )
    parser.add_argument("--kinds", default="pyomo,scipy,glop,exact,market")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per case")
    parser.add_argument("--gap", type=float, default=1e-3, help="the market solver's target gap")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    rows = []
    for size in args.sizes.split(","):
        for kind in args.kinds.split(","):
            row = run(kind, size, args.limit, args.gap)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
