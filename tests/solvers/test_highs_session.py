"""The HiGHS session's choice of simplex for a new objective never changes the optimum."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

import treemarket.solvers.highs as highs_backend
from treemarket.solvers import LinearProgram, get_solver


def _covering_lp(seed: int, rows: int = 1_500, cols: int = 2_500) -> LinearProgram:
    """min c·x over A x ≥ A·½, 0 ≤ x ≤ 1 (x = ½ is feasible)."""
    rng = np.random.default_rng(seed)
    A = sp.random_array((rows, cols), density=0.004, rng=rng, format="csc")
    A = sp.csc_array(A + sp.eye_array(rows, cols, format="csc"))
    return LinearProgram(
        c=rng.uniform(0.0, 1.0, cols),
        A=A,
        row_lower=0.5 * (A @ np.ones(cols)),
        row_upper=np.full(rows, np.inf),
        col_lower=np.zeros(cols),
        col_upper=np.ones(cols),
        maximize=False,
    )


class _CountingHighs:
    """A HiGHS instance that counts the bases set on it (the hand-over to primal simplex)."""

    def __init__(self, h):
        self.h = h
        self.bases_set = 0

    def setBasis(self, basis):  # noqa: N802 (HiGHS's name)
        self.bases_set += 1
        return self.h.setBasis(basis)

    def __getattr__(self, name):
        return getattr(self.h, name)


def test_a_dual_simplex_out_of_time_hands_over_to_primal_with_the_same_optimum(monkeypatch):
    monkeypatch.setattr(highs_backend, "DUAL_SECONDS", 0.0)  # every dual run stops at once
    lp = _covering_lp(0)
    session = get_solver("highs").session(lp)
    spy = _CountingHighs(session.h)
    session.h = spy
    rng = np.random.default_rng(1)
    for _ in range(4):
        c = rng.uniform(0.0, 1.0, lp.n_cols)
        found = session.solve_with_objective(c, maximize=False)
        alone = get_solver("highs").solve(dataclasses.replace(lp, c=c))
        assert found.status == alone.status == "optimal"
        assert found.objective == pytest.approx(alone.objective, rel=1e-9)
        assert np.all(lp.A @ found.x >= lp.row_lower - 1e-7)
    assert spy.bases_set >= 3  # the three warm solves each handed over


def test_a_session_from_scratch_by_primal_simplex_reaches_the_same_optimum():
    """``SolveOptions(simplex="primal")`` changes the method of the first solve only."""
    from treemarket.solvers import SolveOptions

    lp = _covering_lp(2)
    c = np.random.default_rng(3).uniform(0.0, 1.0, lp.n_cols)
    found = {}
    for simplex in ("dual", "primal"):
        session = get_solver("highs").session(lp, SolveOptions(simplex=simplex))
        assert highs_backend._option_value(session.h, "simplex_strategy") == (
            4 if simplex == "primal" else 1
        )
        found[simplex] = session.solve_with_objective(c, maximize=False)
        assert found[simplex].status == "optimal"
    assert found["primal"].objective == pytest.approx(found["dual"].objective, rel=1e-9)
    alone = get_solver("highs").solve(dataclasses.replace(lp, c=c), SolveOptions(simplex="primal"))
    assert alone.objective == pytest.approx(found["dual"].objective, rel=1e-9)


def test_a_fork_goes_on_from_the_last_basis_and_then_on_its_own():
    """A fork re-solves the parent's last objective in no iteration; forks solved in two
    threads at once reach the optima of one-off solves, and leave the parent's basis alone."""
    from concurrent.futures import ThreadPoolExecutor

    lp = _covering_lp(4)
    rng = np.random.default_rng(5)
    session = get_solver("highs").session(lp)
    first = session.solve_with_objective(rng.uniform(0.0, 1.0, lp.n_cols), maximize=False)
    forks = [session.fork() for _ in range(2)]
    again = forks[0].solve_with_objective(session.cost, maximize=False)
    assert again.status == "optimal" and again.iterations == 0
    assert again.objective == pytest.approx(first.objective, rel=1e-12)
    costs = [np.zeros(lp.n_cols) for _ in range(6)]
    for k, c in enumerate(costs):
        c[k] = 1.0  # one column at a time, as the price ranges' last step

    def run(fork, share):
        return [fork.solve_with_objective(c, maximize=True) for c in share]

    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(run, forks, [costs[:3], costs[3:]]))
    for c, sol in zip(costs, found[0] + found[1], strict=True):
        alone = get_solver("highs").solve(dataclasses.replace(lp, c=c, maximize=True))
        assert sol.status == alone.status == "optimal"
        assert sol.objective == pytest.approx(alone.objective, abs=1e-9)
    # the parent still stands at its own optimum
    assert session.solve_with_objective(session.cost, maximize=False).iterations == 0


def _scripted_results(monkeypatch, script):
    """HiGHS's answers, except that the first ones take the statuses of ``script`` (without a
    point); every run's (simplex_strategy, presolve) is recorded."""
    run_until, result, runs = highs_backend._run_until, highs_backend._result, []

    def recorded(h, deadline):
        option = highs_backend._option_value
        runs.append((option(h, "simplex_strategy"), option(h, "presolve")))
        run_until(h, deadline)

    def scripted(h, is_mip, duals=True):
        sol = result(h, is_mip, duals)
        if script:
            sol.status, sol.x = script.pop(0), None
        return sol

    monkeypatch.setattr(highs_backend, "_run_until", recorded)
    monkeypatch.setattr(highs_backend, "_result", scripted)
    return runs


def test_a_feasible_system_called_infeasible_is_solved_again_until_confirmed(monkeypatch):
    """Regression: primal simplex called a supporting-price system infeasible (markov_paths at
    10^5 pairs: an error, then infeasible from scratch, with presolve and without) that dual
    simplex from scratch solved. An error takes the next of FALLBACKS, an infeasibility to
    confirm the next of CONFIRMS, each list in order, each run from scratch."""
    from treemarket.solvers import SolveOptions

    lp = _covering_lp(4, rows=300, cols=500)
    c = np.random.default_rng(5).uniform(0.0, 1.0, lp.n_cols)
    alone = get_solver("highs").solve(dataclasses.replace(lp, c=c))
    session = get_solver("highs").session(lp, SolveOptions(simplex="primal"))
    runs = _scripted_results(monkeypatch, ["error", "infeasible", "infeasible"])
    found = session.solve_with_objective(c, maximize=False)
    assert found.status == "optimal"
    assert found.objective == pytest.approx(alone.objective, rel=1e-9)
    primal, dual = 4, 1
    assert runs == [
        (primal, "choose"),  # error
        (primal, "choose"),  # FALLBACKS[0], from scratch: infeasible
        (primal, "off"),  # CONFIRMS[0]: infeasible
        (dual, "choose"),  # CONFIRMS[1]: HiGHS's own answer
    ]
    assert [option for option, _ in highs_backend.CONFIRMS] == ["presolve", "simplex_strategy"]


def test_an_infeasible_system_is_confirmed_by_every_remedy_and_then_said_so(monkeypatch):
    lp = _covering_lp(6, rows=200, cols=300)
    lp = dataclasses.replace(lp, row_lower=lp.row_lower + 10.0 * lp.A @ np.ones(lp.n_cols))
    session = get_solver("highs").session(lp)
    runs = _scripted_results(monkeypatch, [])
    found = session.solve_with_objective(np.ones(lp.n_cols), maximize=False)
    assert found.status == "infeasible"
    assert len(runs) == 1 + len(highs_backend.CONFIRMS)
