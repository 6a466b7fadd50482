"""The slides' weather example, reproduced."""

import numpy as np
import pytest

from treemarket.examples import example_path
from treemarket.io.ttp_file import load_ttp
from treemarket.ttp import check_optimality, solve_exact
from treemarket.ttp.examples import weather


@pytest.fixture(scope="module", params=["weather.yaml", "weather-tree.yaml", "python"])
def solution(request):
    model = weather() if request.param == "python" else load_ttp(example_path(request.param))
    return solve_exact(model)


def test_values_are_the_conditional_expectations_of_the_slides(solution):
    tree = solution.model.tree
    v = solution.model.values
    np.testing.assert_allclose(v[:, 0], [4, 4, 2])
    by_event = {tuple(tree.event(n)): v[:, n] for n in range(tree.n_nodes)}
    np.testing.assert_allclose(by_event[("CF", "FC")], [7, 7, 2])
    np.testing.assert_allclose(by_event[("CR", "RC")], [1, 1, 2])


def test_welfare_is_2_plus_3_5_plus_6_5(solution):
    assert solution.welfare == pytest.approx(12.0, abs=1e-12)
    assert solution.lp_bound == pytest.approx(12.0, abs=1e-12)
    assert solution.lp_integral.proven and solution.supported.proven and solution.gap == 0
    by_time = {}
    for row in solution.assignment_rows():
        by_time[row["time"]] = by_time.get(row["time"], 0.0) + row["probability"] * row["value"]
    assert by_time == pytest.approx({0: 2.0, 1: 3.5, 2: 6.5})


def test_who_buys_when(solution):
    rows = solution.assignment_rows()
    at = {(r["time"], tuple(r["event"])): r["buyer"] for r in rows}
    assert at[(0, ("CF", "CR", "FC", "RC"))] == "C"
    assert at[(1, ("CF", "FC"))] in {"A", "B"}  # after "no rain", A or B
    assert (1, ("CR", "RC")) not in at  # nobody buys after "rain possible"
    first = at[(1, ("CF", "FC"))]
    other = "B" if first == "A" else "A"
    # at t = 2 the best remaining buyer gets the last permit
    assert at[(2, ("FC",))] == other and at[(2, ("CF",))] == other
    assert at[(2, ("CR",))] == "A" and at[(2, ("RC",))] == "B"


def test_prices_support_the_optimum(solution):
    report = check_optimality(
        solution.model, solution.y, solution.prices.price, solution.prices.option_value
    )
    assert report.holds(1e-9), report.to_dict()
    table = {(r["time"], tuple(r["event"])): (r["min"], r["max"]) for r in solution.price_rows()}
    # unsold after "rain possible": the only clearing price there is 0
    assert table[(1, ("CR", "RC"))] == (0.0, 0.0)
    # at t = 0 C must prefer buying at p to waiting: hand-computed range [0, 1]
    assert table[(0, ("CF", "CR", "FC", "RC"))] == pytest.approx((0.0, 1.0))
