"""One way to solve: what auto means, typed options, unknown options as errors."""

import numpy as np
import pytest

import treemarket.ttp.dispatch as dispatch
from treemarket.testing import random_model
from treemarket.ttp import ExactOptions, MarketOptions, auto_method, solve
from treemarket.ttp.examples import weather


def test_auto_is_exact_for_small_models_and_market_beyond(monkeypatch):
    model = weather()
    assert auto_method(model) == "exact" and solve(model).method == "exact"
    monkeypatch.setattr(dispatch, "AUTO_EXACT_LIMIT", model.values.size - 1)
    assert auto_method(model) == "market" and solve(model).method == "market"


def test_auto_answers_a_large_carry_over_model_with_the_market_solver(monkeypatch):
    monkeypatch.setattr(dispatch, "AUTO_EXACT_LIMIT", 1)
    model = random_model(np.random.default_rng(1), horizon=2, buyers=3, carry_over=True)
    assert auto_method(model) == "market"
    assert solve(model).gap <= 1e-3


@pytest.mark.parametrize("method", ["exact", "market"])
def test_an_unknown_option_is_an_error_not_dropped(method):
    with pytest.raises(TypeError, match="unknown option 'tolerance'"):
        solve(weather(), method, tolerance=1e-3)


def test_an_option_of_the_other_method_is_an_error_when_the_method_is_named():
    with pytest.raises(TypeError, match="price_ranges"):
        solve(weather(), "market", price_ranges=False)
    with pytest.raises(TypeError, match="target_gap"):
        solve(weather(), "exact", target_gap=1e-4)


def test_auto_takes_the_options_of_either_method_and_uses_the_chosen_ones(monkeypatch):
    sol = solve(weather(), price_ranges=False, target_gap=0.5)
    assert sol.method == "exact" and sol.ranges is None
    monkeypatch.setattr(dispatch, "AUTO_EXACT_LIMIT", 1)
    sol = solve(weather(), price_ranges=False, max_iterations=1)
    assert sol.method == "market" and sol.stats["iterations"] == 1


def test_typed_options_objects():
    sol = solve(weather(), "exact", exact=ExactOptions(formulation="z", price_ranges=False))
    assert sol.formulation == "z" and sol.welfare == 12.0
    sol = solve(weather(), "market", market=MarketOptions(max_iterations=3))
    assert sol.stats["iterations"] <= 3


def test_an_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="unknown method"):
        solve(weather(), "fastest")
