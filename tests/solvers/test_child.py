"""A call in a child process stopped at a deadline, and the HiGHS MIPs that run there."""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import scipy.sparse as sp

from treemarket.solvers import LinearProgram, SolveOptions, child, get_solver, highs


def _knapsacks(seed: int, n: int = 30) -> LinearProgram:
    rng = np.random.default_rng(seed)
    m = 4
    return LinearProgram(
        c=rng.uniform(1, 10, n),
        A=sp.csc_array(rng.uniform(1, 5, (m, n))),
        row_lower=np.full(m, -np.inf),
        row_upper=np.full(m, 12.0),
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integrality=np.ones(n, dtype=bool),
    )


def test_the_child_answers():
    assert child.call_with_deadline(divmod, (17, 5), 30.0) == (3, 2)


def test_an_error_in_the_child_is_raised_with_its_message():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        child.call_with_deadline(divmod, (1, 0), 30.0)


def test_a_child_past_its_deadline_is_stopped(monkeypatch):
    monkeypatch.setattr(child, "GRACE", 0.0)
    with pytest.raises(child.Stopped, match="no answer within"):
        child.call_with_deadline(time.sleep, (60,), 0.5)


def test_a_child_that_dies_without_an_answer_is_stopped_with_its_code():
    start = time.monotonic()
    with pytest.raises(child.Stopped, match="ended with code 3"):
        child.call_with_deadline(_die, (np.ones(1_000_000),), 60.0)
    assert time.monotonic() - start < 30  # seen when it dies, not at the deadline


def test_a_script_without_a_main_guard_runs_its_child_once(tmp_path):
    """multiprocessing's spawn would run the script again in the child, whose own call then
    fails, and the parent hangs writing the call into a pipe nobody reads."""
    script = tmp_path / "user_script.py"
    script.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from treemarket.solvers.child import call_with_deadline
            print("script ran")
            print(call_with_deadline(np.sum, (np.ones(2_000_000),), 30.0))
            """
        )
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["script", "ran", "2000000.0"]


def test_a_child_loads_the_solvers_only():
    """A child starts by importing treemarket.solvers: not the TTP package, the file readers or
    SciPy's statistics (over a second of start-up each time before they were lazy)."""
    heavy = ("treemarket.ttp", "treemarket.io", "scipy.stats")
    code = (
        "import sys; import treemarket.solvers.child; "
        f"print([m for m in sys.modules if m.startswith({heavy!r})])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_package_still_offers_its_names_on_first_use():
    import treemarket

    assert treemarket.solve is __import__("treemarket.ttp", fromlist=["solve"]).solve
    assert "load_ttp" in dir(treemarket)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = treemarket.nothing


@pytest.mark.parametrize("seed", [0, 1])
def test_a_large_mip_in_a_child_has_the_answer_of_this_process(monkeypatch, seed):
    lp = _knapsacks(seed)
    options = SolveOptions(time_limit=60.0)
    here = get_solver("highs").solve(lp, options)
    monkeypatch.setattr(highs, "CHILD_COLUMNS", 1)
    there = get_solver("highs").solve(lp, options)
    assert here.status == there.status == "optimal"
    assert there.objective == pytest.approx(here.objective, rel=1e-12)
    assert np.allclose(there.x, np.round(there.x))
    assert there.bound >= there.objective - 1e-9


def test_a_mip_stopped_in_its_child_reports_the_time_limit(monkeypatch):
    monkeypatch.setattr(highs, "CHILD_COLUMNS", 1)
    monkeypatch.setattr(child, "GRACE", 0.0)
    monkeypatch.setattr(highs, "_solve_until", _sleeper)
    sol = get_solver("highs").solve(_knapsacks(0), SolveOptions(time_limit=0.5))
    assert sol.status == "time_limit" and sol.x is None and "no answer" in sol.detail


def _die(data):  # a child that ends without a word
    os._exit(3)


def _sleeper(*args):  # a solve that never looks at its clock
    time.sleep(60)
