"""Every family of the instance zoo (``treemarket.testing.zoo``) at one size, every solver.

For each family at ``--pairs`` buyer-node pairs (10^5 by default; ``--pairs 1e6`` for the large
run), each case in a fresh process (its own peak memory) with a wall-clock limit; seconds are
the method's own (building its model and solving), without generating the instance and without
importing modules:

* ``exact``: treemarket's exact solver (LP first, MIP when the LP's vertex is fractional);
  seconds, gap, whether the LP was fractional;
* ``market``: the market solver to a certified gap of ``--gap`` (0.1%); seconds, iterations,
  gap reached;
* ``pyomo``: the model as a user writes it in Pyomo, MIP solved by HiGHS (appsi) at the exact
  solver's relative MIP gap; ``baselines.pyomo_highs``, with buyer types
  (integer variables up to the count), presence windows (bounds 0 outside) and carry-over
  (a stock variable per node), at HiGHS's default feasibility tolerances (1e-7);
* ``pyomo_tight``: the same at the exact solver's tolerances too (1e-9 primal, 1e-10 dual):
  the baseline at equal accuracy;
* ``linprog``: ``scipy.optimize.linprog(method="highs")`` on treemarket's pruned LP relaxation;
* ``glop``: OR-Tools GLOP on the same LP (``baselines.glop_lp``).

Usage: ``cd benchmarks && ../.venv/bin/python bench_zoo.py [--pairs 1e5] [--families a,b]
[--methods exact,market] [--limit 120] [--json zoo.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from baselines import glop_lp, pyomo_highs, scipy_highs_lp
from harness import isolated, peak_mb

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

# pyomo: Pyomo + HiGHS at exact's MIP gap and HiGHS's default tolerances (1e-7); pyomo_tight:
# the same at exact's tolerances too (1e-9 primal, 1e-10 dual)
METHODS = ("exact", "market", "pyomo", "pyomo_tight", "linprog", "glop")


def _shape(model) -> dict:
    tree = model.tree
    return {
        "buyers": int(model.n_buyers),
        "units": int(model.counts.sum()),
        "nodes": int(tree.n_nodes),
        "depth": int(tree.horizon),
        "pairs": int(model.n_buyers * tree.n_nodes),
        "min_prob": float(tree.prob.min()),
    }


def _import(method: str) -> None:
    if method.startswith("pyomo"):
        import pyomo.environ  # noqa: F401
    elif method == "glop":
        import ortools.linear_solver.python.model_builder  # noqa: F401
    elif method == "linprog":
        import scipy.optimize  # noqa: F401
    import treemarket.ttp.formulation  # noqa: F401
    import treemarket.ttp.market  # noqa: F401


def _case(family: str, pairs: int, seed: int, method: str, limit: float, gap: float, out) -> None:
    from treemarket.testing import zoo

    row: dict = {
        "family": family,
        "method": method,
        "target_pairs": pairs,
        "seed": seed,
        "limit": limit,
        "load": os.getloadavg()[0],
    }
    start = time.perf_counter()
    model = zoo.make(family, pairs=pairs, seed=seed)
    _ = model.values
    row.update(_shape(model))
    row["generate_s"] = time.perf_counter() - start
    _import(method)  # module imports are not the method's time
    start = time.perf_counter()
    try:
        if method == "exact":
            from treemarket.ttp import solve

            sol = solve(model, "exact", price_ranges=False, time_limit=limit)
            row.update(
                objective=sol.welfare,
                bound=sol.upper_bound,
                gap=sol.gap,
                lp_bound=sol.lp_bound,
                lp_fractional=sol.y_lp is not None,
                timings=sol.timings,
                columns=sol.stats.get("variables"),
                mip_status=sol.stats.get("status"),
                notes=sol.notes,
            )
        elif method == "market":
            from treemarket.ttp import solve

            sol = solve(model, "market", target_gap=gap, time_limit=limit)
            row.update(
                objective=sol.welfare,
                bound=sol.upper_bound,
                gap=sol.gap,
                iterations=sol.stats["iterations"],
                target_gap=gap,
            )
        elif method in ("pyomo", "pyomo_tight"):
            from treemarket.solvers.base import SolveOptions

            options = SolveOptions()
            tight = (options.feasibility_tol, options.optimality_tol)
            tolerances = tight if method == "pyomo_tight" else None
            row.update(pyomo_highs(model, limit, options.mip_rel_gap, tolerances))
        elif method == "linprog":
            row.update(scipy_highs_lp(model, limit))
        elif method == "glop":
            row.update(glop_lp(model, limit))
        else:
            raise ValueError(f"unknown method {method!r}")
    except Exception as exc:  # a solver that cannot cope is a result, recorded as such
        row["error"] = f"{type(exc).__name__}: {exc}"[:300]
    row["seconds"] = time.perf_counter() - start
    row["peak_mb"] = peak_mb()
    out.put(row)


def run(family: str, pairs: int, seed: int, method: str, limit: float, gap: float) -> dict:
    """One case in a fresh process, killed at 2 limit + 60 s (``exact`` has ``limit`` for its
    solve and then computes prices)."""
    row = {"family": family, "method": method, "target_pairs": pairs, "seed": seed}
    found = isolated(_case, family, pairs, seed, method, limit, gap, limit=2 * limit + 60.0)
    return {**row, **found}


def _fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}"


def summary(row: dict) -> str:
    """One table cell: seconds, what the method reached, peak memory."""
    if "error" in row:
        if "does not handle carry_over" in row["error"]:
            return "refused (carry_over)"
        return f"error: {row['error'][:60]}"
    seconds = _fmt(row["seconds"])
    if row.get("limit") and row["seconds"] > row["limit"]:
        seconds = f"**{seconds}**"  # over the limit
    memory = f"{row['peak_mb']:.0f} MB"
    method = row["method"]
    if method == "exact":
        frac = "fractional LP" if row.get("lp_fractional") else "integral LP"
        if row.get("lp_bound") is None:
            frac = "LP unfinished: the market's answer"
        if row.get("mip_status") not in (None, "optimal"):
            frac += f" (MIP: {row['mip_status']})"
        return f"{seconds} s, gap {row['gap']:.1e}, {frac}, {memory}"
    if method == "market":
        return f"{seconds} s, gap {row['gap']:.1e}, {row['iterations']} it, {memory}"
    if "objective" not in row:
        return f"{seconds} s, {row.get('status', 'no answer')}, {memory}"
    cell = f"{seconds} s (solve {_fmt(row['solve_s'])})"
    if method.startswith("pyomo") and row.get("status") != "optimal":
        bound, value = row["bound"], row["objective"]
        cell += f", {row.get('status')}, gap {(bound - value) / max(abs(bound), 1e-12):.1e}"
    return f"{cell}, {memory}"


def check(rows: list[dict]) -> list[str]:
    """Differences between methods on the same instance: integer optima to 1e-7 relative, LP
    optima to 1e-6 (the LP solvers run at their default tolerances), market bounds."""
    notes = []
    by = {(r["family"], r["method"]): r for r in rows}
    for family in dict.fromkeys(r["family"] for r in rows):
        exact = by.get((family, "exact"), {})
        if "objective" not in exact or exact.get("gap") != 0.0:
            continue
        scale = max(1.0, abs(exact["objective"]))
        for name in ("pyomo", "pyomo_tight"):
            pyomo = by.get((family, name), {})
            if pyomo.get("status") == "optimal" and (
                abs(pyomo["objective"] - exact["objective"]) > 1e-7 * scale
            ):
                notes.append(
                    f"{family}: {name} {pyomo['objective']!r} != exact {exact['objective']!r}"
                )
            if pyomo.get("status") == "optimal" and (
                pyomo["bound"] < exact["objective"] - 1e-9 * scale
            ):
                notes.append(
                    f"{family}: {name}'s bound {pyomo['bound']!r} is below exact's checked "
                    f"welfare {exact['objective']!r}: its optimality proof is refuted"
                )
        for lp in ("linprog", "glop"):
            r = by.get((family, lp), {})
            if "objective" in r and abs(r["objective"] - exact["lp_bound"]) > 1e-6 * scale:
                notes.append(
                    f"{family}: {lp} LP {r['objective']!r} != exact's LP bound "
                    f"{exact['lp_bound']!r}"
                )
        market = by.get((family, "market"), {})
        if "objective" in market:
            if market["objective"] > exact["objective"] + 1e-9 * scale:
                notes.append(f"{family}: market welfare above the exact optimum")
            if market["bound"] < exact["objective"] - 1e-9 * scale:
                notes.append(f"{family}: market bound below the exact optimum")
    return notes


def main(argv: list[str] | None = None) -> None:
    from treemarket.testing import zoo

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=float, default=1e5, help="buyer-node pairs (1e5, 1e6)")
    parser.add_argument("--families", default=",".join(zoo.FAMILIES))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per case")
    parser.add_argument("--gap", type=float, default=1e-3, help="the market solver's target gap")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args(argv)
    pairs = int(args.pairs)
    methods = args.methods.split(",")
    rows = []
    for family in args.families.split(","):
        for method in methods:
            row = run(family, pairs, args.seed, method, args.limit, args.gap)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1))
    print()
    print("| family | shape | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 2) + "|")
    for family in dict.fromkeys(r["family"] for r in rows):
        cells = {r["method"]: r for r in rows if r["family"] == family}
        first = next((r for r in cells.values() if "nodes" in r), {})
        shape = (
            f"{first.get('buyers')} x {first.get('nodes')} (T {first.get('depth')})"
            if first
            else ""
        )
        print(
            f"| {family} | {shape} | "
            + " | ".join(summary(cells[m]) if m in cells else "" for m in methods)
            + " |"
        )
    for note in check(rows):
        print("DISAGREEMENT:", note)


if __name__ == "__main__":
    main()
