"""The command line: SPEC JSON keys, atomic output, examples, the readable report."""

import json

import pytest

from treemarket.cli import app
from treemarket.cli._common import run_guarded
from treemarket.examples import bundled_examples, example_path


def _run(args, capsys):
    code = run_guarded(app, args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_solve_json_has_the_spec_keys(capsys):
    code, out, _ = _run(["ttp", "solve", str(example_path("weather.yaml")), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    for key in ("welfare", "lp_bound", "assignment", "prices", "upper_bound", "gap"):
        assert key in data
    assert data["welfare"] == pytest.approx(12) and data["gap"] == 0
    for row in data["assignment"]:
        assert set(row) >= {"buyer", "time", "event", "probability"}
        assert row["event"] == sorted(row["event"])
    assert len(data["prices"]) == 7
    for row in data["prices"]:
        assert set(row) >= {"time", "event", "min", "max"}
        assert row["max"] is None or row["min"] <= row["max"] + 1e-12


def test_output_is_written_atomically(tmp_path, capsys):
    target = tmp_path / "sub" / "r.json"
    code, _, _ = _run(
        ["ttp", "solve", str(example_path("weather.yaml")), "--output", str(target)], capsys
    )
    assert code == 0 and json.loads(target.read_text())["welfare"] == pytest.approx(12)
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]  # no temporary left


def test_report_says_when_the_lp_is_fractional(capsys):
    code, out, _ = _run(["ttp", "solve", str(example_path("fractional.yaml"))], capsys)
    assert code == 0 and "fractional" in out and "11.16666667" in out


def test_examples_lists_and_writes(tmp_path, capsys):
    code, out, _ = _run(["examples", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "weather.yaml" in out and (tmp_path / "weather-tree.yaml").exists()
    assert set(p.name for p in tmp_path.iterdir()) == set(bundled_examples())


def test_option_values_in_json(capsys):
    code, out, _ = _run(
        ["ttp", "solve", str(example_path("weather.yaml")), "--json", "--option-values"], capsys
    )
    rows = json.loads(out)["option_values"]
    assert code == 0 and len(rows) == 3 * 7
    assert all(r["psi"] >= 0 for r in rows)


def test_simulate_json_has_the_spec_keys(tmp_path, capsys):
    trades = tmp_path / "trades.csv"
    code, out, _ = _run(
        ["ttp", "simulate", str(example_path("weather.yaml")), "--json", "--draws", "4",
         "--trades", str(trades)],
        capsys,
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert set(data["policies"]) == {"market", "myopic", "fcfs", "lottery"}
    for outcome in data["policies"].values():
        assert {"welfare", "revenue", "unsold"} <= set(outcome)
    assert data["policies"]["market"]["welfare"] == pytest.approx(12.0)
    assert data["equilibrium"]["supported"] is True
    low, high = (
        data["equilibrium"]["low_revenue_prices"],
        data["equilibrium"]["high_revenue_prices"],
    )
    assert low["revenue"] <= high["revenue"]
    lines = trades.read_text().splitlines()
    assert lines[0].startswith("path,scenario,time,buyer")
    assert len(lines) - 1 == 10  # 4 paths: C, A or B after no rain, and the t = 2 sales


def test_sampled_simulation_from_the_cli(capsys):
    code, out, _ = _run(
        ["ttp", "simulate", str(example_path("weather.yaml")), "--json", "--paths", "300",
         "--seed", "5"],
        capsys,
    )  # fmt: skip
    data = json.loads(out)
    assert code == 0 and data["mode"] == "sampled" and data["paths"] == 300
    assert data["policies"]["market"]["welfare_se"] > 0


def test_solve_shows_lotteries_for_a_fractional_lp(capsys):
    code, out, _ = _run(["ttp", "solve", str(example_path("fractional.yaml")), "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["lp_integral"] is False
    chances = [row["chance"] for row in data["lp_lotteries"]]
    assert any(0 < c < 1 for c in chances)


def test_simulate_of_a_fractional_lp_never_claims_an_equilibrium(capsys):
    code, out, _ = _run(
        ["ttp", "simulate", str(example_path("fractional.yaml")), "--json", "--draws", "2"],
        capsys,
    )
    data = json.loads(out)
    assert code == 0 and data["equilibrium"]["supported"] is False
    code, text, _ = _run(
        ["ttp", "simulate", str(example_path("fractional.yaml")), "--draws", "2"], capsys
    )
    assert code == 0 and ": refuted" in text and ": proven" not in text


def test_auto_sends_a_large_carry_over_model_to_a_method_that_answers(monkeypatch, tmp_path,
                                                                      capsys):  # fmt: skip
    """Regression: above the auto limit a carry_over model went to the market solver, which
    refused carry_over, and the command died with a traceback. The market solver handles
    carry-over now."""
    import treemarket.ttp.dispatch as dispatch

    monkeypatch.setattr(dispatch, "AUTO_EXACT_LIMIT", 5)
    text = example_path("weather.yaml").read_text() + "carry_over: true\n"
    (tmp_path / "carry.yaml").write_text(text)
    code, out, err = _run(["ttp", "solve", str(tmp_path / "carry.yaml"), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["method"] == "market" and data["welfare"] == pytest.approx(12.0)


def test_simulate_of_a_market_solution_says_not_known_rather_than_refuted(monkeypatch, capsys):
    """Regression: an uncertified (market solver) solution was reported as 'no prices support
    the optimum' with a shortfall of 0."""
    import treemarket.ttp.dispatch as dispatch

    monkeypatch.setattr(dispatch, "AUTO_EXACT_LIMIT", 5)  # auto -> the market solver
    code, out, _ = _run(["ttp", "simulate", str(example_path("weather.yaml")), "--json",
                         "--draws", "2"], capsys)  # fmt: skip
    data = json.loads(out)
    assert code == 0
    assert data["equilibrium"]["supported"] in (True, None)  # never refuted: nothing refutes it
    assert "no prices support" not in data.get("note", "")
    assert "falls short" not in data.get("note", "")
    assert "not certified" in data["note"]
    code, text, _ = _run(["ttp", "simulate", str(example_path("weather.yaml")), "--draws", "2"],
                         capsys)  # fmt: skip
    assert "refuted" not in text and "NO" not in text


def test_files_written_get_the_users_permissions(tmp_path, capsys):
    """Regression: every file written through the atomic writer was created mode 0600."""
    import os

    target = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        code, _, _ = _run(["ttp", "solve", str(example_path("weather.yaml")), "--output",
                           str(target)], capsys)  # fmt: skip
        _run(["examples", "--out", str(tmp_path / "models")], capsys)
    finally:
        os.umask(old)
    assert code == 0
    assert target.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "models" / "weather.yaml").stat().st_mode & 0o777 == 0o644


def test_unknown_method_and_formulation_are_one_line_errors(capsys):
    code, _, err = _run(["ttp", "solve", str(example_path("weather.yaml")), "--method", "fast"],
                        capsys)  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "--method" in err
    code, _, err = _run(["ttp", "solve", str(example_path("weather.yaml")), "--formulation",
                         "q"], capsys)  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "--formulation" in err


def test_output_to_a_folder_is_a_one_line_error(tmp_path, capsys):
    code, _, err = _run(["ttp", "solve", str(example_path("weather.yaml")), "--output",
                         str(tmp_path)], capsys)  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "is a folder" in err


def test_a_solve_stopped_short_of_its_target_says_so_and_exits_3(capsys):
    args = ["ttp", "solve", str(example_path("theme-park.yaml")), "--method", "market",
            "--time-limit", "0"]  # fmt: skip
    code, out, _ = _run([*args, "--json"], capsys)
    data = json.loads(out)
    assert code == 3
    assert data["reached"] is False and data["target_gap"] == 1e-3 and data["gap"] > 1e-3
    code, text, _ = _run(args, capsys)
    assert code == 3 and "stopped short of the target gap" in text


def test_a_solve_that_reaches_its_target_says_so_and_exits_0(capsys):
    code, out, _ = _run(["ttp", "solve", str(example_path("weather.yaml")), "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["reached"] is True and data["target_gap"] == 1e-9
