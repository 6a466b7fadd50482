"""Supporting prices: ranges, extreme price systems, the closed form of one market."""

import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ttp.strategies import maybe, random_models
from treemarket.errors import SolverError
from treemarket.fact import Fact
from treemarket.solvers import Solution, Solver, get_solver, highs
from treemarket.solvers.base import SolveOptions, SolverSession
from treemarket.testing import random_model, zoo
from treemarket.ttp import prices, solve_exact
from treemarket.ttp.examples import weather
from treemarket.ttp.formulation import tree_has_tiny_nodes
from treemarket.ttp.prices import SupportLP, _Ends, extreme_prices


def test_lowest_revenue_prices_are_below_the_highest_everywhere_in_revenue():
    model = weather()
    sol = solve_exact(model)
    low, high = sol.prices, sol.price_system("high")
    assert low.revenue(model, sol.y) == pytest.approx(0.0)
    assert high.revenue(model, sol.y) == pytest.approx(5.0)
    # both inside the per-node ranges
    assert np.all(high.price <= np.where(np.isinf(sol.ranges.high), np.inf, sol.ranges.high) + 1e-9)
    assert np.all(low.price >= sol.ranges.low - 1e-9)


@pytest.mark.parametrize("mu", [1, 2, 3])
def test_single_market_price_range_is_the_uniform_price_auction(mu):
    """T = 0: the clearing prices are exactly [v_(μ+1), v_(μ)] (values sorted down, 0 past I)."""
    rng = np.random.default_rng(mu)
    model = random_model(rng, horizon=0, buyers=5, supply=mu, integer_values=False)
    values = np.sort(model.values[:, 0])[::-1]
    padded = np.concatenate([np.maximum(values, 0), [0.0]])
    sol = solve_exact(model)
    assert sol.ranges.low[0] == pytest.approx(padded[mu], abs=1e-9)
    assert sol.ranges.high[0] == pytest.approx(padded[mu - 1], abs=1e-9)


def test_closed_market_has_unbounded_price():
    rng = np.random.default_rng(5)
    model = random_model(rng, horizon=1, buyers=2, supply=1)
    model = type(model).from_arrays(model.tree, model.buyers, [1, 0], model.scenario_values)
    sol = solve_exact(model)
    table = sol.to_json()["prices"]
    assert all(row["max"] is None for row in table if row["time"] == 1)


def test_extreme_prices_are_the_solution_s_price_systems():
    model = weather()
    sol = solve_exact(model, price_ranges=False)
    high = extreme_prices(model, sol.y, maximize=True)
    assert np.array_equal(high.price, sol.price_system("high").price)
    assert sol.price_system_report("high")["revenue"] == pytest.approx(5.0)


class _BrokenSolver(Solver):
    """A backend whose every solve fails."""

    name = "broken"

    def solve(self, lp, options=None, start=None):
        return Solution(status="error")


def test_a_failing_range_lp_is_a_solver_error():
    """Regression: solver trouble in the price ranges was a bare RuntimeError."""
    model = weather()
    sol = solve_exact(model, price_ranges=False)
    with pytest.raises(SolverError, match="price range"):
        SupportLP(model, sol.y, _BrokenSolver()).ranges()


def one_lp_per_node(support):
    """Reference: min and max of every free p(n) by its own LP."""
    n = support.n_nodes
    low, high = np.zeros(n), np.zeros(n)
    c = np.zeros(support.lp.n_cols)
    for node in np.nonzero(support.lp.col_upper[:n] != 0.0)[0]:
        c[node] = 1.0
        low[node] = support._node_optimum(c, node, maximize=False)
        high[node] = support._node_optimum(c, node, maximize=True)
        c[node] = 0.0
    return low, high


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    random_models(
        horizon=3,
        buyers=6,
        branching=(1, 3),
        supply=(0, 2),
        counts=maybe((1, 3)),
        integer_values=st.booleans(),
        windows=st.booleans(),
        carry_over=st.booleans(),
    )
)
def test_ranges_equal_one_lp_per_node(model):
    sol = solve_exact(model, price_ranges=False)
    if sol.supported is not Fact.PROVEN:
        return
    support = SupportLP(model, sol.priced_y)
    _assert_ranges_match(model, support.ranges(), *one_lp_per_node(support))


def _reference_case(family, pairs=600, seed=0):
    model = zoo.make(family, pairs, seed)
    sol = solve_exact(model, price_ranges=False)
    if sol.supported is not Fact.PROVEN:
        return None
    return model, sol.priced_y


def _assert_ranges_match(model, found, low, high):
    scale = max(1.0, float(np.abs(model.values).max()))
    assert np.array_equal(np.isinf(found.high), np.isinf(high))
    finite = np.isfinite(high)
    assert np.allclose(found.high[finite], high[finite], rtol=0, atol=1e-7 * scale)
    assert np.allclose(found.low, low, rtol=0, atol=1e-7 * scale)


# Families whose node probabilities go below 1e-6 are left out: there a price moves by
# (violation / probability), so the ranges are known only to the LPs' tolerance over it
# (test_zoo.py checks that they are computed or said to be unknown).
ORDINARY_FAMILIES = [
    name for name in sorted(zoo.FAMILIES) if not tree_has_tiny_nodes(zoo.make(name, 600, 0))
]


@pytest.mark.parametrize("family", ORDINARY_FAMILIES)
def test_ranges_equal_one_lp_per_node_on_every_zoo_family(family):
    case = _reference_case(family)
    if case is None:
        pytest.skip("fractional LP: no supporting prices")
    model, y = case
    support = SupportLP(model, y)
    found = support.ranges()
    _assert_ranges_match(model, found, *one_lp_per_node(support))


def test_ranges_without_the_backend_s_vertex_proofs_are_the_same():
    """A backend without cost ranging (scipy) leaves steps 3 and 4 to settle every end."""
    model, y = _reference_case("random_walk", 2_000)
    found = SupportLP(model, y, get_solver("scipy")).ranges()
    _assert_ranges_match(model, found, *one_lp_per_node(SupportLP(model, y)))


def test_local_relaxations_bound_every_end_from_outside_and_settle_the_reached_ones():
    model, y = _reference_case("deep_narrow", 600)
    support = SupportLP(model, y)
    low, high = one_lp_per_node(support)
    n = support.n_nodes
    for height in (1, 2):
        ends = _Ends(n, support._zero())
        ends.reach(low)
        ends.reach(high)  # inf where unbounded: the relaxation's cap never meets it
        support._local_bounds(ends, height, deadline=np.inf)
        settled_low, settled_high = ~ends.low_open, ~ends.high_open
        assert settled_low.sum() + settled_high.sum() > 0
        assert np.allclose(ends.low[settled_low], low[settled_low], atol=1e-9)
        assert np.allclose(ends.high[settled_high], high[settled_high], atol=1e-9)
        # nodes less than `height` below the top are not in any relaxation of this height
        shallow = model.tree.time < height
        assert ends.low_open[shallow].all() and ends.high_open[shallow].all()


@pytest.mark.parametrize("family", ["windows", "wide_shallow"])
def test_local_restrictions_reach_supporting_points_only(family):
    """From a supporting point, re-optimizing one subtree and its path (the rest kept) gives
    supporting points: every price reached lies in its range, and the ends settled with the
    relaxations' bounds are the true ones."""
    model, y = _reference_case(family, 2_000)
    support = SupportLP(model, y)
    low, high = one_lp_per_node(support)
    tree = model.tree
    ends = _Ends(support.n_nodes, support._zero())
    ends.point = support._solve_feasible(np.zeros(support.lp.n_cols), False).x
    ends.reach(ends.point[: support.n_nodes])
    below = np.nonzero(tree.time == tree.horizon)[0]
    options = SolveOptions(feasibility_tol=support.tolerance)
    both = np.r_[below, below], np.r_[np.zeros(below.size, bool), np.ones(below.size, bool)]
    support._reach_locally(ends, tree.parent[both[0]], *both, cap=1e3, options=options)
    tolerance = 1e-7 * max(1.0, float(np.abs(model.values).max()))
    assert np.all(ends.reached_low >= low - tolerance)
    assert np.all(ends.reached_high <= high + tolerance)
    moved = (ends.reached_low < ends.point[: support.n_nodes] - tolerance) | (
        ends.reached_high > ends.point[: support.n_nodes] + tolerance
    )
    assert moved.any()
    for height in (1, 2):
        support._local_bounds(ends, height, deadline=np.inf)
    settled_low, settled_high = ~ends.low_open, ~ends.high_open
    assert settled_low.any() and settled_high.any()
    assert np.allclose(ends.low[settled_low], low[settled_low], atol=tolerance)
    assert np.allclose(ends.high[settled_high], high[settled_high], atol=tolerance)
    assert np.all(ends.reached_low >= low - tolerance)
    assert np.all(ends.reached_high <= high + tolerance)


def test_one_subtree_s_ends_on_sessions_are_bounded_from_outside_and_settled_right():
    """A large subtree's open ends one after the other (relaxation and restriction each a
    session re-solved per end), on a tree of depth 3 whose subtrees of time 1 hold 420
    nodes: nearly every end is settled (restricted to each end's own subtree and path
    instead, 95% were), a sample of them to the true value, and every price reached lies
    in its range."""
    model, y = _reference_case("wide_shallow", 20_000)
    support = SupportLP(model, y)
    tree = model.tree
    tolerance = 1e-7 * max(1.0, float(np.abs(model.values).max()))
    ends = _Ends(support.n_nodes, support._zero())
    ends.point = support._solve_feasible(np.zeros(support.lp.n_cols), False).x
    ends.reach(ends.point[: support.n_nodes])
    top = int(np.nonzero(tree.time == 1)[0][0])
    inside = (tree.event_start >= tree.event_start[top]) & (tree.event_stop <= tree.event_stop[top])
    nodes = np.nonzero(inside & (tree.time >= 2))[0]
    assert nodes.size == 420
    node = np.r_[nodes, nodes]
    maximize = np.r_[np.zeros(nodes.size, bool), np.ones(nodes.size, bool)]
    options = SolveOptions(feasibility_tol=support.tolerance)
    support._local_block(ends, top, node, maximize, True, options)
    settled = np.r_[~ends.low_open[nodes], ~ends.high_open[nodes]]
    assert settled.mean() >= 0.99
    # every end it left open is given up at this height: none is left untried
    assert not np.isin(ends.open_pairs()[0], nodes).any()
    sample = np.random.default_rng(0).choice(node.size, 24, replace=False)
    c = np.zeros(support.lp.n_cols)
    for k in sample.tolist():
        end, high = int(node[k]), bool(maximize[k])
        c[end] = 1.0
        true = support._node_optimum(c, end, high)
        c[end] = 0.0
        if high:
            assert ends.bound_high[end] >= true - tolerance
            assert ends.reached_high[end] <= true + tolerance
            if not ends.high_open[end]:
                assert ends.high[end] == pytest.approx(true, abs=tolerance)
        else:
            assert ends.bound_low[end] <= true + tolerance
            assert ends.reached_low[end] >= true - tolerance
            if not ends.low_open[end]:
                assert ends.low[end] == pytest.approx(true, abs=tolerance)


def _threads_case():
    model = zoo.make("windows", 8_000, 0)
    return model, solve_exact(model, price_ranges=False).priced_y


def test_the_single_lps_on_threads_give_the_ranges_of_one_thread(monkeypatch):
    """Step 4 on two threads (two forks of the session, even on one processor) settles every
    end as the serial step does (about 50 ends are left to it on this case)."""
    model, y = _threads_case()
    monkeypatch.setattr(prices, "range_threads", lambda: 1)
    serial = SupportLP(model, y).ranges()
    forks, step = [], []
    fork = highs._HighsSession.fork
    monkeypatch.setattr(
        highs._HighsSession, "fork", lambda self: forks.append(step[:]) or fork(self)
    )
    single_ends = SupportLP._single_ends

    def step_4(self, *args):
        step.append(4)
        return single_ends(self, *args)

    monkeypatch.setattr(SupportLP, "_single_ends", step_4)
    monkeypatch.setattr(prices, "range_threads", lambda: 2)
    threaded = SupportLP(model, y).ranges()
    assert forks.count([4]) == 2
    assert np.array_equal(np.isinf(threaded.high), np.isinf(serial.high))
    finite = np.isfinite(serial.high)
    assert np.allclose(threaded.high[finite], serial.high[finite], rtol=0, atol=1e-9)
    assert np.allclose(threaded.low, serial.low, rtol=0, atol=1e-9)


def test_vertex_rounds_stop_once_an_end_costs_more_there_than_by_its_own_lp(monkeypatch):
    """Counted on a million threads, step 4 settles an end for almost nothing: the vertex
    rounds stop after their first (which the share rule alone would not), and the ranges
    stay the true ones."""
    model, y = _reference_case("windows", 2_000, seed=1)
    rounds = []
    harvest = SupportLP._harvest

    def counted(self, sense, ends):
        rounds.append(ends.open_count)
        return harvest(self, sense, ends)

    monkeypatch.setattr(SupportLP, "_harvest", counted)
    fork = highs._HighsSession.fork
    monkeypatch.setattr(highs._HighsSession, "fork", lambda self: None)  # the share rule alone
    support = SupportLP(model, y)
    found = support.ranges()
    assert len(rounds) >= 2
    rounds.clear()
    monkeypatch.setattr(highs._HighsSession, "fork", fork)
    monkeypatch.setattr(prices, "range_threads", lambda: 1_000_000)
    cheap = SupportLP(model, y).ranges()
    assert len(rounds) == 1
    _assert_ranges_match(model, cheap, found.low, found.high)
    _assert_ranges_match(model, found, *one_lp_per_node(support))


def test_the_single_lps_on_threads_stop_at_the_deadline(monkeypatch):
    """Past the deadline no end's LP starts: the ones running finish, and the step ends with
    an error naming the limit (the ranges are then not known)."""
    model, y = _threads_case()
    support = SupportLP(model, y)
    support.price_system(np.zeros(support.n_nodes), maximize=False)
    ends = _Ends(support.n_nodes, support._zero())
    monkeypatch.setattr(prices, "range_threads", lambda: 2)
    solved = []
    end_value = SupportLP._end_value

    def counted(self, *args):
        solved.append(1)
        return end_value(self, *args)

    monkeypatch.setattr(SupportLP, "_end_value", counted)
    with pytest.raises(SolverError, match="not finished within 1 s"):
        support._single_ends(ends, deadline=0.0, late="1 s")
    assert 1 <= len(solved) <= 2  # the two started before the first result, none after
    assert ends.open_count >= 2 * support.n_nodes - 2


class _FailingFork(SolverSession):
    """A fork whose every solve ends in an error."""

    def solve_with_objective(self, c, maximize):
        return Solution("error", detail="a failing fork")

    def solve_from(self, start=None):
        return Solution("error")

    def solve_with_bounds(self, index, lower, upper):
        return Solution("error")


def test_an_end_a_thread_fails_on_is_solved_again_on_the_main_session(monkeypatch):
    model, y = _threads_case()
    monkeypatch.setattr(prices, "range_threads", lambda: 1)
    serial = SupportLP(model, y).ranges()
    monkeypatch.setattr(prices, "range_threads", lambda: 2)
    monkeypatch.setattr(highs._HighsSession, "fork", lambda self: _FailingFork())
    support = SupportLP(model, y)
    found = support.ranges()
    assert np.array_equal(np.isinf(found.high), np.isinf(serial.high))
    finite = np.isfinite(serial.high)
    assert np.allclose(found.high[finite], serial.high[finite], rtol=0, atol=1e-9)
    assert np.allclose(found.low, serial.low, rtol=0, atol=1e-9)


def test_a_vertex_settles_only_the_ends_it_provably_attains():
    model, y = _reference_case("random_walk", 2_000)
    support = SupportLP(model, y)
    low, high = one_lp_per_node(support)
    ends = _Ends(support.n_nodes, support._zero())
    sense = np.zeros(support.lp.n_cols)
    sense[: support.n_nodes] = 1.0
    assert support._harvest(sense, ends) == "proven"
    settled_low, settled_high = ~ends.low_open, ~ends.high_open
    assert settled_low.any() and settled_high.any()
    assert np.allclose(ends.low[settled_low], low[settled_low], atol=1e-9)
    assert np.allclose(ends.high[settled_high], high[settled_high], atol=1e-9)
    assert np.all(ends.reached_low >= low - 1e-9) and np.all(ends.reached_high <= high + 1e-9)


class _OffTheSystem(Solver):
    """HiGHS, except that every answer is moved off the feasible set and still called optimal."""

    name = "off"

    def solve(self, lp, options=None, start=None):
        sol = get_solver("highs").solve(lp, options, start)
        if sol.x is not None:
            sol.x = sol.x + 1.0
        return sol


def test_answers_off_the_system_are_never_reported_as_ranges():
    model = weather()
    sol = solve_exact(model, price_ranges=False)
    with pytest.raises(SolverError, match="off the system"):
        SupportLP(model, sol.y, _OffTheSystem()).ranges()


def test_ranges_past_their_time_limit_are_not_known_and_said_so():
    model, _ = _reference_case("random_walk", 2_000)
    sol = solve_exact(model, range_time_limit=0.0)
    assert sol.ranges is None
    assert sol.prices is not None  # the supporting prices themselves are kept
    assert any(note == "price ranges not known: not finished within 0 s" for note in sol.notes)


@pytest.mark.parametrize("seed", [2, 6])
def test_an_unbounded_sum_of_highs_leaves_the_lows_to_the_vertices(seed, monkeypatch):
    """With carry-over some prices have no upper end, and the sum LP over the open highs is then
    unbounded: the next vertices take the lows alone, and the ranges still match."""
    rng = np.random.default_rng(seed)
    model = random_model(rng, horizon=3, buyers=4, branching=2, supply=(0, 2), carry_over=True)
    sol = solve_exact(model, price_ranges=False)
    support = SupportLP(model, sol.priced_y)
    outcomes = []
    harvest = SupportLP._harvest

    def recorded(self, sense, ends):
        outcomes.append((harvest(self, sense, ends), bool((sense > 0).any())))
        return outcomes[-1][0]

    monkeypatch.setattr(SupportLP, "_harvest", recorded)
    # without forks the rounds follow the share rule alone, not the clock (an end's LP timed
    # between rounds may settle every high end first)
    monkeypatch.setattr(highs._HighsSession, "fork", lambda self: None)
    found = support.ranges()
    after = outcomes.index(("unbounded", True)) + 1
    assert outcomes[after:] and not any(highs for _, highs in outcomes[after:])  # lows alone
    assert np.isinf(found.high).any()
    _assert_ranges_match(model, found, *one_lp_per_node(support))


def test_a_price_system_the_caller_rejects_sends_it_to_the_next_tolerance():
    """``accept`` sees each system found; after rejecting them all the caller gets the last,
    with the tolerance it was found at (and None only when none was found)."""
    from treemarket.ttp.prices import TOLERANCES, revenue_weight

    model = weather()
    y = solve_exact(model, price_ranges=False).y
    seen = []

    def reject(system):
        seen.append(system.price.copy())
        return False

    support = SupportLP(model, y)
    system = support.price_system(revenue_weight(model, y), False, reject)
    assert len(seen) == len(TOLERANCES) and system is not None
    assert support.tolerance == TOLERANCES[-1]
    support = SupportLP(model, y)
    first = support.price_system(revenue_weight(model, y), False, lambda system: True)
    assert support.tolerance == TOLERANCES[0]
    np.testing.assert_allclose(first.price, seen[0])


def test_a_failing_vertex_lp_leaves_its_ends_to_the_later_steps(monkeypatch):
    """Regression: where the solver failed on a sum LP of the vertex rounds (markov_paths at
    10^5 pairs, tiny probabilities) the ranges ended "not known"; the system is feasible, so
    the ends go on to the later steps. The same for the first try of a single end's LP."""
    model, y = _reference_case("random_walk", 2_000)
    expected = SupportLP(model, y).ranges()
    failed = []
    solve = SupportLP._solve_feasible

    def failing(self, c, maximize):
        caller = inspect.stack()[1].function
        kind = {"_harvest": "sum", "_node_optimum": "single"}.get(caller)
        if kind is not None and kind not in failed:  # the first of each kind fails
            failed.append(kind)
            return Solution("error")
        return solve(self, c, maximize)

    monkeypatch.setattr(SupportLP, "_solve_feasible", failing)
    monkeypatch.setattr(highs._HighsSession, "fork", lambda self: None)  # all on the session
    support = SupportLP(model, y)
    found = support.ranges()
    assert "sum" in failed and "single" in failed
    _assert_ranges_match(model, found, expected.low, expected.high)


def test_after_a_failed_vertex_lp_the_single_lps_still_run_on_threads(monkeypatch):
    """The failed LP drops the session; step 4 makes a new one with its first end and forks
    it, and gives the ranges of one thread."""
    model, y = _threads_case()
    monkeypatch.setattr(prices, "range_threads", lambda: 1)
    serial = SupportLP(model, y).ranges()
    monkeypatch.setattr(prices, "range_threads", lambda: 2)
    solve = SupportLP._solve_feasible

    def failing(self, c, maximize):
        if inspect.stack()[1].function == "_harvest":
            return Solution("error")
        return solve(self, c, maximize)

    forks = []
    fork = highs._HighsSession.fork
    monkeypatch.setattr(SupportLP, "_solve_feasible", failing)
    monkeypatch.setattr(highs._HighsSession, "fork", lambda self: forks.append(1) or fork(self))
    found = SupportLP(model, y).ranges()
    assert len(forks) >= 2
    _assert_ranges_match(model, found, serial.low, serial.high)


def test_an_end_one_simplex_method_fails_on_is_solved_by_the_other(monkeypatch):
    """Regression: on markov_paths at 10^5 pairs primal simplex failed at a single end, warm
    and from scratch, and the ranges ended "not known"; dual simplex from scratch solved it.
    Here every solve of a single end by the system's own method (dual) fails."""
    model, y = _threads_case()  # about 50 ends are left to the single LPs
    monkeypatch.setattr(prices, "range_threads", lambda: 1)  # all on the session
    expected = SupportLP(model, y).ranges()
    solve = SupportLP._solve_feasible
    methods = []

    def failing(self, c, maximize):
        if inspect.stack()[1].function == "_node_optimum":
            methods.append(self.simplex)
            if self.simplex == "dual":
                return Solution("error")
        return solve(self, c, maximize)

    monkeypatch.setattr(SupportLP, "_solve_feasible", failing)
    found = SupportLP(model, y).ranges()
    assert "primal" in methods
    _assert_ranges_match(model, found, expected.low, expected.high)
