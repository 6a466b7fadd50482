"""Public test helpers: random instances, brute force, assignment checks, misreport search.

The brute force and the checks are independent of the solvers on purpose (no LP anywhere), so
that tests can check solver answers against them; the misreport search drives the mechanisms
of :mod:`treemarket.ttp.mechanism` to look for a profitable lie.
"""

from treemarket.testing import zoo
from treemarket.testing.bruteforce import assignment_violations, brute_force_welfare
from treemarket.testing.checks import assert_prices_support_the_optimum
from treemarket.testing.generate import random_model, random_tree
from treemarket.testing.misreport import (
    Deviation,
    MisreportSearch,
    misreport_search,
    misreports,
)

__all__ = [
    "Deviation",
    "MisreportSearch",
    "assert_prices_support_the_optimum",
    "assignment_violations",
    "brute_force_welfare",
    "misreport_search",
    "misreports",
    "random_model",
    "random_tree",
    "zoo",
]
