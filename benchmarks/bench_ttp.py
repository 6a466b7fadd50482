"""TTP exact solver benchmark: build time, solve time, peak memory, objective, per size.

Each case runs in a fresh process so that its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import time

from harness import instance, isolated, peak_mb

# (depth of the binary tree, buyers): buyers x nodes = variables before pruning
SIZES = {"1e4": (7, 40), "1e5": (10, 50), "1e6": (13, 61)}


def _case(kind: str, depth: int, buyers: int, out) -> None:
    from treemarket.ttp import solve_exact
    from treemarket.ttp.formulation import build

    start = time.perf_counter()
    model = instance(depth, buyers)
    _ = model.values
    generate = time.perf_counter() - start
    row = {
        "kind": kind,
        "variables": buyers * model.tree.n_nodes,
        "nodes": model.tree.n_nodes,
        "buyers": buyers,
        "generate_s": generate,
    }
    if kind.startswith("build-"):
        start = time.perf_counter()
        form = build(model, kind.split("-", 1)[1], integer=False)
        row["build_s"] = time.perf_counter() - start
        row["columns"] = form.lp.n_cols
        row["nonzeros"] = int(form.lp.A.nnz)
    elif kind.startswith("exact-"):
        start = time.perf_counter()
        sol = solve_exact(model, formulation=kind.split("-", 1)[1], price_ranges=False)
        row["solve_s"] = time.perf_counter() - start
        row.update({k: v for k, v in sol.timings.items()})
        row["objective"] = sol.welfare
        row["gap"] = sol.gap
        row["lp_integral"] = sol.lp_integral.to_json()
    elif kind == "naive-scipy-milp":
        from baselines import naive_path_milp

        start = time.perf_counter()
        objective, status = naive_path_milp(model)
        row["solve_s"] = time.perf_counter() - start
        row["objective"] = objective
        row["status"] = status
    row["peak_mb"] = peak_mb()
    out.put(row)


def run_case(kind: str, size: str) -> dict:
    depth, buyers = SIZES[size]
    return {**isolated(_case, kind, depth, buyers), "size": size}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only the 1e4 and 1e5 sizes")
    args = parser.parse_args(argv)
    sizes = ["1e4", "1e5"] if args.quick else ["1e4", "1e5", "1e6"]
    plan = []
    for size in sizes:
        plan += [("build-path", size), ("build-z", size)]
    for size in sizes[:2]:  # the exact solve at 1e6 did not finish in 25 minutes (README)
        plan += [("exact-path", size), ("exact-z", size)]
    plan += [("naive-scipy-milp", "1e4"), ("naive-scipy-milp", "1e5")]
    rows = []
    for kind, size in plan:
        row = run_case(kind, size)
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def _line(row: dict) -> str:
    keys = (
        "size",
        "kind",
        "variables",
        "columns",
        "nonzeros",
        "build_s",
        "lp",
        "mip",
        "prices",
        "solve_s",
        "objective",
        "gap",
        "peak_mb",
        "status",
    )
    parts = []
    for key in keys:
        if key in row:
            value = row[key]
            parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return " ".join(parts)


if __name__ == "__main__":
    main()
