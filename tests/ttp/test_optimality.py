"""The optimality system of [P]: it holds at supporting prices and catches each violation."""

import numpy as np

from treemarket.ttp import check_optimality, solve_exact
from treemarket.ttp.examples import weather


def _weather():
    sol = solve_exact(weather(), price_ranges=False)
    return sol.model, sol.y, sol.prices.price.copy(), sol.prices.option_value.copy()


def test_it_holds_at_the_supporting_prices():
    model, y, price, psi = _weather()
    report = check_optimality(model, y, price, psi)
    assert report.holds() and report.worst == 0.0


def test_a_price_on_unsold_supply_breaks_clearing():
    model, y, price, psi = _weather()
    unsold = int(np.nonzero(model.node_supply - y.sum(axis=0) > 0.5)[0][0])
    price[unsold] += 1.0
    report = check_optimality(model, y, price, psi)
    assert report.violations["clear"]["complementarity"] > 0.5 and not report.holds()


def test_an_option_value_too_low_breaks_the_buy_condition():
    model, y, price, psi = _weather()
    psi[:, 0] = 0.0
    price[0] = 0.0  # now v − p > ψ at the root for someone who waits
    report = check_optimality(model, y, price, psi)
    assert report.violations["buy"]["slack"] > 0.5


def test_a_buyer_taking_two_permits_breaks_stay():
    model, y, price, psi = _weather()
    y = y.copy()
    y[0, 0] += 1.0  # A buys at the root as well as later
    report = check_optimality(model, y, price, psi)
    assert not report.holds()
