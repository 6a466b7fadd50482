"""Identical buyers solved as one type: the same optimum, a feasible split, the same prices."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.ttp.strategies import SETTINGS, maybe, random_models
from treemarket.testing import assignment_violations, brute_force_welfare
from treemarket.ttp import TTPModel, check_optimality, solve_exact
from treemarket.ttp.reduction import merge_identical_buyers


@st.composite
def with_copies(draw):
    """A random model in which some buyers are copies of others (values, window, benefits)."""
    model = draw(
        random_models(
            buyers=3,
            branching=(1, 3),
            supply=(0, 3),
            counts=maybe((1, 2)),
            windows=st.booleans(),
            carry_over=st.booleans(),
        )
    )
    copies = draw(st.lists(st.integers(0, model.n_buyers - 1), min_size=1, max_size=3))
    keep = np.concatenate([np.arange(model.n_buyers), copies])
    return model.select_buyers(keep)


@SETTINGS
@given(with_copies())
def test_merged_types_give_the_optimum_of_the_buyers(model):
    merge = merge_identical_buyers(model)
    assert merge.merges
    merged = solve_exact(model, price_ranges=False)
    plain = solve_exact(model, price_ranges=False, merge_identical=False)
    scale = max(1.0, abs(plain.welfare))
    assert merged.welfare == pytest.approx(plain.welfare, abs=1e-9 * scale)
    assert merged.welfare == pytest.approx(brute_force_welfare(model), abs=1e-9 * scale)
    assert merged.model is model and merged.y.shape == plain.y.shape
    assert assignment_violations(model, merged.y) == []
    assert merged.supported is plain.supported and merged.lp_integral is plain.lp_integral
    if merged.supported.proven:
        prices = merged.prices
        assert check_optimality(model, merged.y, prices.price, prices.option_value).holds()


def test_the_split_follows_every_path():
    model = TTPModel.from_scenarios(
        ["A", "B", "C"],
        [1, 2],
        {"up": (0.5, {"A": 3, "B": 3, "C": 1}), "down": (0.5, {"A": 2, "B": 2, "C": 1})},
        [[["up", "down"]], [["up"], ["down"]]],
    )
    merge = merge_identical_buyers(model)
    y_type = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])  # the A/B type buys at the root and
    y = merge.split(y_type)  # again below: one member each time
    assert y.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    assert assignment_violations(model, y) == []
