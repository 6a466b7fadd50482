"""One zoo instance's [P0] as a MIP (path form), HiGHS from scratch at exact's tolerances and at
HiGHS's defaults (1e-7): seconds, objective and claimed bound in welfare units.

Usage: ``cd benchmarks && ../.venv/bin/python mip_tolerances.py [--family markov_paths]
[--pairs 1e5] [--limit 200]``.
"""

from __future__ import annotations

import argparse
import time

from treemarket.solvers import SolveOptions, get_solver
from treemarket.testing import zoo
from treemarket.ttp.formulation import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--family", default="markov_paths")
    parser.add_argument("--pairs", type=float, default=1e5)
    parser.add_argument("--limit", type=float, default=200.0)
    args = parser.parse_args()
    model = zoo.make(args.family, int(args.pairs), 0)
    form = build(model, "path", integer=True)
    print(f"{args.family}: {form.lp.n_cols} columns", flush=True)
    for name, options in (
        ("exact's tolerances", SolveOptions(time_limit=args.limit)),
        (
            "HiGHS defaults (1e-7)",
            SolveOptions(time_limit=args.limit, feasibility_tol=1e-7, optimality_tol=1e-7),
        ),
    ):
        start = time.perf_counter()
        sol = get_solver("highs").solve(form.lp, options)
        seconds = time.perf_counter() - start
        print(
            f"{name}: {seconds:.1f} s, {sol.status}, objective {sol.objective * form.scale!r}, "
            f"bound {sol.bound * form.scale!r}",
            flush=True,
        )


if __name__ == "__main__":
    main()
