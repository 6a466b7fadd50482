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
