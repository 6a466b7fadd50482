"""The optimal supply schedule under a total capacity."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ttp.strategies import random_models
from treemarket.testing import brute_force_welfare
from treemarket.ttp.examples import weather
from treemarket.ttp.schedule import optimal_schedule, schedule

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _brute_force_schedule(model, capacity):
    """Every schedule with Σ μ ≤ M, each solved by brute force."""
    best = -np.inf
    horizon = model.horizon
    for mu in np.ndindex(*([capacity + 1] * (horizon + 1))):
        if sum(mu) <= capacity:
            best = max(best, brute_force_welfare(model.with_supply(mu)))
    return best


def models(extensions):
    return random_models(
        horizon=2,
        branching=(1, 2),
        supply=1,
        windows=extensions,
        early_benefit=2.0 if extensions else 0.0,
        carry_over=st.booleans() if extensions else False,
    )


@SETTINGS
@given(models(extensions=True), st.integers(0, 3))
def test_schedule_equals_brute_force_over_all_schedules(model, capacity):
    supply, welfare = optimal_schedule(model, capacity)
    assert sum(supply) <= capacity
    assert welfare == pytest.approx(_brute_force_schedule(model, capacity), abs=1e-9)


@SETTINGS
@given(models(extensions=False), st.integers(0, 4))
def test_without_extensions_everything_at_the_exercise_time_is_optimal(model, capacity):
    result = schedule(model, capacity, curve_points=3)
    assert result.all_at_exercise == pytest.approx(result.welfare, abs=1e-9)


def test_weather_curve_and_marginal_values():
    result = schedule(weather(), 3)
    assert result.supply == [0, 0, 3]
    # at T with full information: E[best], E[best two], E[best three positive values]
    assert [p["welfare"] for p in result.curve] == pytest.approx([0, 7, 11, 12])
    assert [p.get("marginal") for p in result.curve[1:]] == pytest.approx([7, 4, 1])
    assert result.revenue["low"] <= result.revenue["high"]


def test_early_benefit_makes_early_sales_optimal():
    model = weather()
    early = type(model).from_arrays(
        model.tree,
        model.buyers,
        [1, 1, 1],
        model.scenario_values,
        early_benefit=[[3, 0, 0], [3, 0, 0], [3, 0, 0]],
    )
    supply, welfare = optimal_schedule(early, 3)
    assert supply[0] >= 1
    assert welfare > schedule(model, 3).welfare
