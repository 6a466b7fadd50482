"""`treemarket ttp mechanism`: the JSON keys, the pivot's file output, the readable report and
bad input."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from treemarket.cli._common import run_guarded
from treemarket.cli.examples import example_path
from treemarket.cli.ttp_mechanism import mechanism_command


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(mechanism_command)
    return app


def test_command_vcg_json_has_the_spec_keys():
    result = CliRunner().invoke(_app(), [str(example_path("weather.yaml")), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"kind", "welfare", "payments", "payoffs", "revenue"} <= set(data)
    assert data["kind"] == "vcg" and data["welfare"] == pytest.approx(12)
    assert data["payoffs"] == pytest.approx({"A": 5, "B": 5, "C": 2})
    assert set(data["comparison"]["rows"]) == {"vcg", "pivot", "low prices", "high prices"}


def test_command_pivot_json_and_output(tmp_path):
    model_file = tmp_path / "hand.json"
    model_file.write_text(json.dumps({
        "model": "ttp", "buyers": ["A", "B", "C"], "supply": [1, 1],
        "scenarios": {"up": {"probability": 0.5, "values": {"A": 10, "B": 8, "C": 3.5}},
                      "down": {"probability": 0.5, "values": {"A": -6, "B": -2, "C": 3.5}}},
        "information": [[["up", "down"]], [["up"], ["down"]]],
    }))  # fmt: skip
    target = tmp_path / "out" / "pivot.json"
    args = [str(model_file), "--kind", "pivot", "--output", str(target)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    data = json.loads(target.read_text())
    assert data["kind"] == "pivot" and data["revenue"] == pytest.approx(4.5)
    assert data["payments"] == pytest.approx({"A": 2.75, "B": 1.75, "C": 0})
    paths = {row["scenario"]: row for row in data["paths"]}
    assert paths["down"]["payments"]["A"] == pytest.approx([1, 0])
    assert paths["down"]["payoffs"]["A"] == pytest.approx(-1)
    assert data["individual_rationality"]["periodic"] is True
    assert [p.name for p in target.parent.iterdir()] == ["pivot.json"]


def test_command_readable_report():
    result = CliRunner().invoke(_app(), [str(example_path("fractional.yaml")), "--kind", "pivot"])
    assert result.exit_code == 0, result.output
    for text in ("dynamic pivot", "periodic individual rationality", "low prices", "revenue"):
        assert text in result.output
    assert "no prices support the integer optimum" in result.output  # the LP's price rows


def test_command_bad_input_exits_2(tmp_path, capsys):
    result = CliRunner().invoke(_app(), [str(example_path("weather.yaml")), "--kind", "gvc"])
    assert result.exit_code == 2 and "vcg, pivot" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: ttp\nbuyers: [A]\nsupply: [1]\n")
    assert run_guarded(_app(), [str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml" in err[0]
