"""Supply that carries over: unsold permits go on to the next market along each path."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ttp.strategies import maybe, random_models
from treemarket.io.ttp_file import to_filtration_dict, ttp_from_dict
from treemarket.testing import (
    assert_prices_support_the_optimum,
    assignment_violations,
    brute_force_welfare,
)
from treemarket.ttp import solve_exact
from treemarket.ttp.examples import weather

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def models(windows=False):
    return random_models(
        branching=(1, 3),
        supply=(0, 2),
        carry_over=True,
        windows=st.booleans() if windows else False,
        counts=maybe((1, 2)),
    )


@SETTINGS
@given(models(windows=True))
def test_exact_equals_brute_force_with_carry_over(model):
    sol = solve_exact(model, price_ranges=False)
    assert sol.welfare == pytest.approx(brute_force_welfare(model), abs=1e-9)
    assert assignment_violations(model, sol.y) == []


@SETTINGS
@given(models())
def test_the_lp_is_integral_and_its_prices_form_an_equilibrium(model):
    """The property search of the issue: no fractional LP optimum with carry-over (the long
    search is in benchmarks/README.md); when it holds, the prices support the optimum."""
    sol = solve_exact(model, price_ranges=False)
    assert sol.lp_integral.proven
    assert "mip" not in sol.timings  # the LP's vertex was integral: no integer solve ran
    assert sol.supported.proven
    assert_prices_support_the_optimum(model, sol)


def test_carry_over_never_hurts_and_prices_are_supermartingales():
    data = to_filtration_dict(weather())
    data["supply"] = [2, 0, 1]
    perishable = solve_exact(ttp_from_dict(data))
    data["carry_over"] = True
    carried = solve_exact(ttp_from_dict(data))
    assert carried.welfare >= perishable.welfare - 1e-12
    # two permits at t = 0 and one at t = 2: carrying one of the first two to t = 2 is better
    assert carried.welfare > perishable.welfare
    model = carried.model
    p = carried.prices.price
    inner = int(model.tree.level_offsets[-2])
    assert np.all(p[:inner] >= model.tree.expectation_of_children(p) - 1e-9)
