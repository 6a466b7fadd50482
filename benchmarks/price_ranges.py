"""Cost of the per-node price ranges (two LPs per node) against the solve without them.
Usage: ``../.venv/bin/python price_ranges.py``."""

import time

import numpy as np

from treemarket.testing import random_model
from treemarket.ttp import solve_exact


def main() -> None:
    for depth, buyers in ((6, 10), (8, 10), (8, 40)):
        model = random_model(
            np.random.default_rng(0), horizon=depth, buyers=buyers, branching=2, supply=(1, 3)
        )
        start = time.perf_counter()
        solve_exact(model, price_ranges=False)
        without = time.perf_counter() - start
        start = time.perf_counter()
        solve_exact(model, price_ranges=True)
        with_ranges = time.perf_counter() - start
        print(
            f"nodes {model.tree.n_nodes} buyers {buyers}: without ranges {without:.3f} s, "
            f"with ranges {with_ranges:.3f} s"
        )


if __name__ == "__main__":
    main()
