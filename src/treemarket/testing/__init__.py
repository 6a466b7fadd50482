"""Public test helpers: random instances, brute force, and assignment checks.

They are independent of the solvers on purpose (no LP anywhere), so that tests can check solver
answers against them.
"""

from treemarket.testing import zoo
from treemarket.testing.bruteforce import assignment_violations, brute_force_welfare
from treemarket.testing.checks import assert_prices_support_the_optimum
from treemarket.testing.generate import random_model, random_tree

__all__ = [
    "assert_prices_support_the_optimum",
    "assignment_violations",
    "brute_force_welfare",
    "random_model",
    "random_tree",
    "zoo",
]
