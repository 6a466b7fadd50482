"""The exact solver under its time limit: an answer with its proven bound, claims not known."""

import pytest

from treemarket.fact import Fact
from treemarket.solvers import LinearProgram, Solution, SolveOptions, Solver, get_solver
from treemarket.solvers.base import SolverSession, Start
from treemarket.testing import assignment_violations, zoo
from treemarket.ttp import exact, solve_exact
from treemarket.ttp.examples import weather
from treemarket.ttp.prices import OutOfTime, SupportLP


class _LPRunsOutOfTime(Solver):
    """HiGHS, except that every LP of a session stops at its time limit without an answer."""

    name = "highs-out-of-time"
    supports_start = True

    def solve(
        self, lp: LinearProgram, options: SolveOptions | None = None, start: Start | None = None
    ) -> Solution:
        return get_solver("highs").solve(lp, options, start)

    def session(self, lp: LinearProgram, options: SolveOptions | None = None) -> SolverSession:
        return _OutOfTime()


class _OutOfTime(SolverSession):
    def solve_with_objective(self, c, maximize):
        return Solution("time_limit")

    def solve_from(self, start=None):
        return Solution("time_limit")

    def solve_with_bounds(self, index, lower, upper):
        return Solution("time_limit")


@pytest.mark.parametrize("family", ["carry_over", "random_walk"])
def test_a_large_model_whose_lp_runs_out_gets_the_market_answer_and_its_bound(monkeypatch, family):
    model = zoo.make(family, pairs=600, seed=1)
    optimum = solve_exact(model, price_ranges=False).welfare
    monkeypatch.setattr(exact, "WARM_START_COLUMNS", 0)  # "large"
    sol = solve_exact(model, solver=_LPRunsOutOfTime(), price_ranges=False, time_limit=60.0)
    tol = 1e-9 * max(1.0, abs(optimum))
    assert assignment_violations(model, sol.y) == []
    assert sol.welfare <= optimum + tol <= sol.upper_bound + 2 * tol
    assert sol.lp_integral is Fact.UNKNOWN and sol.supported is Fact.UNKNOWN
    assert sol.prices is None
    assert any("did not finish within the time limit" in note for note in sol.notes)


def test_without_a_time_limit_no_market_answer_is_computed_for_carry_over(monkeypatch):
    model = zoo.make("carry_over", pairs=600, seed=1)
    monkeypatch.setattr(exact, "WARM_START_COLUMNS", 0)
    sol = solve_exact(model, price_ranges=False)
    assert "market" not in sol.timings and not sol.stats["warm_start"]


def test_prices_cut_off_by_the_time_limit_are_not_known(monkeypatch):
    def out_of_time(self, objective, maximize, accept=None):
        raise OutOfTime("the supporting prices were not found within the time limit")

    monkeypatch.setattr(SupportLP, "price_system", out_of_time)
    sol = solve_exact(weather())
    assert sol.welfare == pytest.approx(12.0)
    assert sol.lp_integral is Fact.PROVEN  # an integer point at the LP bound proves it
    assert sol.supported is Fact.UNKNOWN and sol.prices is None and sol.ranges is None
    assert any("ran out before the prices were found" in note for note in sol.notes)
    assert sol.to_json()["supported"] is None


@pytest.mark.parametrize("fractional", [False, True])
def test_a_huge_lp_is_solved_in_one_call_in_a_child(monkeypatch, fractional):
    """Past ONE_CALL_COLUMNS (here every LP) the LP is one call that HiGHS runs in a child
    stopped at the deadline, and a fractional LP goes to the MIP without branch and bound: the
    same optimum as brute force, with its claims."""
    from treemarket.examples import example_path
    from treemarket.io.ttp_file import load_ttp
    from treemarket.solvers import highs
    from treemarket.testing import brute_force_welfare

    model = load_ttp(example_path("fractional.yaml")) if fractional else weather()
    monkeypatch.setattr(exact, "ONE_CALL_COLUMNS", 0)
    monkeypatch.setattr(highs, "CHILD_LP_COLUMNS", 0)
    monkeypatch.setattr(highs, "CHILD_COLUMNS", 0)
    sol = solve_exact(model, price_ranges=False, time_limit=60.0)
    assert sol.welfare == pytest.approx(brute_force_welfare(model), abs=1e-9)
    assert sol.gap == 0.0
    assert sol.lp_integral is (Fact.REFUTED if fractional else Fact.PROVEN)
    assert sol.stats.get("branch", "skipped") == "skipped"


def test_polish_stops_at_its_deadline():
    """Polish re-solves subtrees until its deadline: with none left it returns y unchanged,
    with time it returns a feasible y at least as good."""
    import time

    import numpy as np

    from treemarket.testing import random_model
    from treemarket.ttp.model import expected_welfare

    model = random_model(np.random.default_rng(3), horizon=3, buyers=4, branching=2)
    y = np.zeros_like(model.values)  # feasible: nobody buys
    assert np.array_equal(exact.polish(model, y, deadline=time.perf_counter()), y)
    polished = exact.polish(model, y, deadline=time.perf_counter() + 60.0)
    assert assignment_violations(model, polished) == []
    assert expected_welfare(model, polished) >= expected_welfare(model, y)
