"""Solutions the pictures are drawn from: the slides' weather example, solved, and solutions
with chosen numbers (the pictures only read them; no solve needed)."""

from __future__ import annotations

import numpy as np
import pytest

from treemarket.fact import Fact
from treemarket.testing import random_model
from treemarket.ttp import PriceRanges, PriceSystem, TTPModel, TTPSolution, solve_exact
from treemarket.ttp.examples import weather


def fake_solution(model: TTPModel, y, price, low, high) -> TTPSolution:
    """A solution object with chosen numbers (plots only read them; no solve needed)."""
    psi = np.zeros((model.n_buyers, model.tree.n_nodes))
    ranges = None if low is None else PriceRanges(np.asarray(low, float), np.asarray(high, float))
    return TTPSolution(
        model=model,
        y=np.asarray(y, dtype=np.float64),
        welfare=1.0,
        lp_bound=1.0,
        upper_bound=1.0,
        gap=0.0,
        lp_integral=Fact.PROVEN,
        supported=Fact.PROVEN,
        prices=PriceSystem(np.asarray(price, float), psi),
        ranges=ranges,
    )


@pytest.fixture(scope="session")
def weather_solution() -> TTPSolution:
    return solve_exact(weather())


@pytest.fixture(scope="session")
def big_solution() -> TTPSolution:
    """511 nodes (binary, T = 8); buyer A buys at every leaf; prices chosen, not solved."""
    model = random_model(np.random.default_rng(3), horizon=8, buyers=5, branching=2)
    tree = model.tree
    y = np.zeros((model.n_buyers, tree.n_nodes))
    y[0, tree.leaves] = 1.0
    price = np.arange(tree.n_nodes, dtype=float) % 7
    high = price + 1.0
    high[tree.time == 8] = np.inf
    return fake_solution(model, y, price, price, high)
