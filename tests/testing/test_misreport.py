"""The misreport search: its grid, no profitable lie in the truthful mechanisms on small
instances, lies computed by hand, and a non-truthful rule in which the grid does find one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from treemarket.testing import misreport_search, misreports, random_model
from treemarket.testing.misreport import _pivot_payoff_after_lie
from treemarket.ttp import TTPModel, solve_exact
from treemarket.ttp.mechanism import ContinuationValues, dynamic_pivot

from ..ttp.mechanism.instances import hand_example


def test_hand_example_lies_by_hand():
    m = hand_example()
    truth = dynamic_pivot(m)
    oracle = ContinuationValues(m)
    # A hides (reports 0): the planner serves C at the root and B after up; A gets nothing and
    # pays 7.5 - 4 - 3.5 = 0 at the root and 8 - 8 = 0 after up: 0 < 2.25
    lie = _pivot_payoff_after_lie(m, oracle, 0, 0, truth.z_in[:, 0], 0, np.zeros(2))
    assert lie == pytest.approx(0) and truth.continuation[0, 0] == pytest.approx(2.25)
    # the truthful report gives back the continuation value at every node
    for n in range(m.tree.n_nodes):
        for i in np.flatnonzero(truth.z_in[:, n] > 0).tolist():
            row = m.scenario_values[i]
            got = _pivot_payoff_after_lie(m, oracle, i, n, truth.z_in[:, n], 0, row)
            assert got == pytest.approx(truth.continuation[i, n])


def test_misreport_grid():
    grid = misreports(np.array([1.0, 3.0]), factors=(0.0, 2.0), shifts=(1.0,))
    as_lists = [g.tolist() for g in grid]
    assert [1.0, 3.0] not in as_lists  # the truth is not a misreport
    assert [0.0, 0.0] in as_lists and [6.0, 2.0] in as_lists and [2.0, 4.0] in as_lists
    assert len(as_lists) == len({tuple(x) for x in as_lists})


def _search_models() -> list[TTPModel]:
    rng = np.random.default_rng(5)
    return [hand_example(), random_model(rng, horizon=1, buyers=3, branching=3, supply=(1, 2))]


@pytest.mark.parametrize("kind", ["vcg", "pivot"])
def test_no_profitable_misreport_on_small_instances(kind):
    for m in _search_models():
        found = misreport_search(m, kind)
        assert found.reports_tried > 25
        assert found.profitable(1e-7) == [], [d.to_json() for d in found.profitable()]
        if kind == "pivot" and m.name == "hand":  # every node where a buyer is still in
            assert {(d.buyer, d.node) for d in found.best} >= {("A", 0), ("A", 1), ("C", 2)}


def test_the_grid_finds_profitable_lies_when_there_are_some():
    """Pay-as-bid (each buyer pays her reported value, so truth pays 0) is not truthful: on the
    same grid B gains by shading, which shows the search can see a profitable deviation."""
    m = hand_example()
    gains = []
    for lie in misreports(m.scenario_values[1]):
        values = m.scenario_values.copy()
        values[1] = lie
        lied = dataclasses.replace(m, scenario_values=values, _cache={})
        y_lie = solve_exact(lied, price_ranges=False).y
        gains.append(((m.values[1] - lied.values[1]) * y_lie[1]) @ m.tree.prob)
    assert max(gains) > 0.5


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["vcg", "pivot"])
def test_no_profitable_misreport_random(kind):
    for seed in range(12):
        rng = np.random.default_rng(200 + seed)
        m = random_model(
            rng,
            horizon=int(rng.integers(1, 3)),
            buyers=3,
            branching=2,
            supply=(0, 2),
            integer_values=bool(seed % 2),
        )
        found = misreport_search(m, kind)
        assert found.profitable(1e-7) == [], (seed, [d.to_json() for d in found.profitable()])
