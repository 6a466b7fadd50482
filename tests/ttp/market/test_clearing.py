"""The one clearing rule against a greedy market written out by hand."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from treemarket.ttp.market import clear, myopic_price
from treemarket.ttp.market.clearing import clear_rows


def _greedy(market, demand, supply, score, value):
    served = np.zeros(len(demand))
    for m in set(market.tolist()):
        left = supply[m]
        members = [k for k in range(len(demand)) if market[k] == m]
        for k in sorted(members, key=lambda k: (-score[k], -value[k], k)):
            served[k] = min(left, demand[k])
            left -= served[k]
    return served


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 12))
def test_clear_serves_like_a_greedy_market(seed, n):
    rng = np.random.default_rng(seed)
    market = rng.integers(0, 3, size=n)
    demand = rng.integers(1, 4, size=n).astype(float)
    supply = rng.integers(0, 5, size=3).astype(float)
    score = rng.integers(0, 3, size=n).astype(float)  # ties on purpose
    value = rng.integers(0, 3, size=n).astype(float)
    served = clear(market, demand, supply, score, value)
    assert np.array_equal(served, _greedy(market, demand, supply, score, value))
    for m in range(3):
        assert served[market == m].sum() <= supply[m]


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 5))
def test_clear_rows_is_clear_with_one_market_per_row(seed, rows, cols):
    rng = np.random.default_rng(seed)
    demand = rng.integers(0, 4, size=(rows, cols)).astype(float)  # 0: not a candidate
    supply = rng.integers(0, 5, size=rows).astype(float)
    key = rng.integers(0, 3, size=(rows, cols)).astype(float)  # ties on purpose
    path, buyer = np.nonzero(demand > 0)
    expected = np.zeros_like(demand)
    expected[path, buyer] = clear(path, demand[path, buyer], supply, key[path, buyer])
    assert np.array_equal(clear_rows(demand, supply, key), expected)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_the_myopic_price_is_the_first_unit_left_out(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 9, size=(4, 5)).astype(float)
    counts = rng.integers(0, 3, size=(4, 5))
    supply = rng.integers(0, 6, size=4)
    price = myopic_price(values, counts, supply)
    for m in range(4):
        units = np.sort(np.repeat(values[m], counts[m]))[::-1]
        assert price[m] == (units[supply[m]] if supply[m] < units.size else 0.0)
