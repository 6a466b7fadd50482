"""Cost of the per-node price ranges against the solve without them, on random-walk trees and on
zoo families up to 10^4 nodes and more.

Usage: ``cd benchmarks && ../.venv/bin/python price_ranges.py``. Each line: the nodes and buyers,
the exact solve without ranges, the ranges alone (``SupportLP.ranges`` on the solution's priced
assignment, after its lowest-revenue price system as ``solve_exact`` does), and the LPs the
ranges solved (for 2 ends per node).
"""

import time

import numpy as np

from treemarket.testing import random_model, zoo
from treemarket.ttp import solve_exact
from treemarket.ttp.prices import SupportLP, revenue_weight

CASES = [
    ("random", {"depth": 6, "buyers": 10}),
    ("random", {"depth": 8, "buyers": 10}),
    ("random", {"depth": 8, "buyers": 40}),
    ("random_walk", {"pairs": 100_000, "depth": 12, "buyers": 6}),
    ("random_walk", {"pairs": 100_000, "depth": 13, "buyers": 4}),
    ("late_information", {"pairs": 200_000}),
    ("markov_paths", {"pairs": 100_000}),
    ("deep_narrow", {"pairs": 50_000}),
]


def model_of(family: str, params: dict):
    if family == "random":
        return random_model(
            np.random.default_rng(0),
            horizon=params["depth"],
            buyers=params["buyers"],
            branching=2,
            supply=(1, 3),
        )
    rest = {k: v for k, v in params.items() if k != "pairs"}
    return zoo.make(family, params["pairs"], 0, **rest)


def main() -> None:
    for family, params in CASES:
        model = model_of(family, params)
        start = time.perf_counter()
        sol = solve_exact(model, price_ranges=False)
        without = time.perf_counter() - start
        support = SupportLP(model, sol.priced_y)
        support.price_system(revenue_weight(model, sol.priced_y), maximize=False)
        before = support.solves
        start = time.perf_counter()
        support.ranges()
        ranges = time.perf_counter() - start
        print(
            f"{family} {params}: {model.tree.n_nodes} nodes × {model.n_buyers} buyers, "
            f"LP {'integral' if sol.lp_integral.proven else 'fractional'}: solve without "
            f"ranges {without:.2f} s, ranges {ranges:.2f} s ({support.solves - before} LPs for "
            f"{2 * model.tree.n_nodes} ends)",
            flush=True,
        )


if __name__ == "__main__":
    main()
