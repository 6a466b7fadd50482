"""How often is the LP relaxation fractional on medium random instances, and what does the MIP
then cost? Usage: ``../.venv/bin/python search_fractional.py SECONDS``."""

import sys
import time

import numpy as np

from treemarket.solvers import get_solver
from treemarket.solvers.base import SolveOptions
from treemarket.testing import random_model
from treemarket.ttp.exact import _optimal_assignment


def main() -> None:
    rng = np.random.default_rng(5)
    start, n, fractional, worst_mip = time.time(), 0, 0, 0.0
    while time.time() - start < float(sys.argv[1]):
        model = random_model(
            rng,
            horizon=int(rng.integers(3, 6)),
            buyers=int(rng.integers(6, 20)),
            branching=(2, 3),
            supply=(1, 3),
            integer_values=bool(rng.integers(0, 2)),
        )
        timings: dict[str, float] = {}
        found = _optimal_assignment(model, "path", get_solver(), SolveOptions(), timings)
        n += 1
        if found.fractional:
            fractional += 1
            worst_mip = max(worst_mip, timings["mip"])
    print(f"instances {n}, fractional LP {fractional}, slowest MIP {worst_mip:.3f} s")


if __name__ == "__main__":
    main()
