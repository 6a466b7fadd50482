"""Shared assertions for tests: the paper's claim, checked end to end on one solved model."""

from __future__ import annotations

import numpy as np

from treemarket.ttp.equilibrium import check_equilibrium
from treemarket.ttp.model import TTPModel
from treemarket.ttp.optimality import check_optimality
from treemarket.ttp.result import TTPSolution


def assert_prices_support_the_optimum(model: TTPModel, sol: TTPSolution, tol: float = 1e-7) -> None:
    """The optimality system holds at the reported prices, the assignment is a competitive
    equilibrium, the simulated markets reach the optimum and no policy beats it."""
    from treemarket.ttp.simulate import simulate

    assert sol.prices is not None, "the solution has no prices"
    report = check_optimality(model, sol.y, sol.prices.price, sol.prices.option_value)
    assert report.holds(tol), report.to_dict()
    assert check_equilibrium(model, sol.y, sol.prices.price).holds
    sim = simulate(model, sol, draws=2)
    assert sim.supported.proven
    assert np.isclose(sim.policies["market"].welfare, sol.welfare, rtol=0, atol=1e-9)
    for outcome in sim.policies.values():
        assert outcome.welfare <= sol.welfare + 1e-9
