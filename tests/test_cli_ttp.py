"""The command line: SPEC JSON keys, atomic output, examples, the readable report."""

import json

import pytest

from treemarket.cli import app
from treemarket.cli._common import run_guarded
from treemarket.cli.examples import bundled_examples, example_path


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
