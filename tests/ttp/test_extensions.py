"""Buyers who cannot wait: presence windows and early benefits, through every part of the TTP."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ttp.strategies import random_models
from treemarket.errors import ModelError
from treemarket.io.ttp_file import to_filtration_dict, ttp_from_dict
from treemarket.testing import (
    assert_prices_support_the_optimum,
    assignment_violations,
    brute_force_welfare,
)
from treemarket.ttp import solve_exact
from treemarket.ttp.examples import weather
from treemarket.ttp.market import MarketOptions, solve_market

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def models():
    return random_models(
        branching=(1, 3),
        supply=(0, 2),
        windows=True,
        early_benefit=st.sampled_from([0.0, 1.0, 3.0]),
    )


@SETTINGS
@given(models())
def test_exact_equals_brute_force_and_prices_support_it(model):
    sol = solve_exact(model, price_ranges=False)
    assert sol.welfare == pytest.approx(brute_force_welfare(model), abs=1e-9)
    assert assignment_violations(model, sol.y) == []
    assert not np.any((sol.y > 0) & ~model.present)  # nobody trades outside her window
    if sol.supported.proven:
        assert_prices_support_the_optimum(model, sol)


@SETTINGS
@given(models())
def test_market_solver_brackets_the_optimum(model):
    exact = solve_exact(model, price_ranges=False)
    market = solve_market(model, MarketOptions(max_iterations=200))
    assert assignment_violations(model, market.y) == []
    assert not np.any((market.y > 0) & ~model.present)
    assert market.welfare <= exact.welfare + 1e-9
    assert market.upper_bound >= exact.lp_bound - 1e-9


def test_unused_extensions_change_nothing():
    base = weather()
    data = to_filtration_dict(base)
    data["buyers"] = [{"name": b, "window": [0, 2], "early_benefit": [0, 0, 0]} for b in "ABC"]
    extended = ttp_from_dict(data)
    assert extended.window is not None and extended.early_benefit is not None
    a, b = solve_exact(base), solve_exact(extended)
    assert a.welfare == b.welfare == 12.0
    np.testing.assert_array_equal(a.ranges.low, b.ranges.low)
    np.testing.assert_array_equal(a.ranges.high, b.ranges.high)


def test_a_buyer_who_must_decide_early_changes_the_weather_optimum():
    """C leaves after t = 0 and A arrives only at t = 1: hand-computed optimum."""
    data = to_filtration_dict(weather())
    data["buyers"] = [{"name": "A", "window": [1, 2]}, "B", {"name": "C", "window": [0, 0]}]
    model = ttp_from_dict(data)
    sol = solve_exact(model)
    # C buys at 0 (2); after no rain A or B (7) and the other at t = 2 (7 in expectation);
    # after rain A at CR (6) and B at RC (6): 2 + 0.5*7 + 0.5*7 + 0.25*6 + 0.25*6 = 12
    assert sol.welfare == pytest.approx(12.0)
    assert brute_force_welfare(model) == pytest.approx(12.0)
    data["buyers"][2] = {"name": "C", "window": [0, 0], "early_benefit": [-3, 0, 0]}
    # holding costs C more than her value now: she no longer buys, B or A takes t = 0 instead
    sol2 = solve_exact(ttp_from_dict(data))
    assert sol2.welfare == pytest.approx(brute_force_welfare(ttp_from_dict(data)))
    assert not any(row["buyer"] == "C" for row in sol2.assignment_rows())


@pytest.mark.parametrize(
    "entry, fragment",
    [
        ({"name": "A", "window": [2, 1]}, "arrival ≤ departure"),
        ({"name": "A", "window": [0, 5]}, "T = 2"),
        ({"name": "A", "early_benefit": [1, 2]}, "one number per trading time"),
    ],
)
def test_bad_extensions_name_the_place(entry, fragment):
    data = to_filtration_dict(weather())
    data["buyers"] = [entry, "B", "C"]
    with pytest.raises(ModelError, match=fragment) as info:
        ttp_from_dict(data, file="m.yaml")
    assert "buyers[0]" in str(info.value)
