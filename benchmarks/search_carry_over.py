"""Search for a fractional LP optimum with carry-over (and, on the same instances, without).

Usage: ``../.venv/bin/python search_carry_over.py SEED SECONDS``.
"""

import sys
import time

import numpy as np

from treemarket.testing import random_model
from treemarket.ttp import solve_exact


def main() -> None:
    rng = np.random.default_rng(int(sys.argv[1]))
    budget = float(sys.argv[2])
    start = time.time()
    n = fractional = fractional_perishable = 0
    while time.time() - start < budget:
        options = dict(
            horizon=int(rng.integers(1, 4)),
            buyers=int(rng.integers(2, 6)),
            branching=(1, 3),
            supply=(0, 3),
            step=float(rng.uniform(1, 6)),
            integer_values=bool(rng.integers(0, 2)),
            counts=(1, 3) if rng.integers(0, 2) else None,
            windows=bool(rng.integers(0, 2)),
            early_benefit=float(rng.choice([0.0, 2.0])),
        )
        seed = int(rng.integers(0, 2**31))
        carried = random_model(np.random.default_rng(seed), carry_over=True, **options)
        n += 1
        if solve_exact(carried, price_ranges=False).lp_integral.refuted:
            fractional += 1
            print("fractional with carry-over:", seed, options, flush=True)
        perishable = random_model(np.random.default_rng(seed), carry_over=False, **options)
        if solve_exact(perishable, price_ranges=False).lp_integral.refuted:
            fractional_perishable += 1
    print(
        f"instances {n}: fractional with carry-over {fractional}, "
        f"perishable {fractional_perishable}"
    )


if __name__ == "__main__":
    main()
