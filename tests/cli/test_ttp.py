"""`treemarket ttp ...`: solve, simulate, schedule, mechanism and plot from the command line:
the JSON keys of docs/json.md, atomic output, the readable reports, bad input."""

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from treemarket.cli import app, ttp_plot
from treemarket.cli._common import run_guarded
from treemarket.cli.ttp_mechanism import mechanism_command
from treemarket.examples import example_path


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
        [
            "ttp",
            "simulate",
            str(example_path("weather.yaml")),
            "--json",
            "--draws",
            "4",
            "--trades",
            str(trades),
        ],
        capsys,
    )
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
        [
            "ttp",
            "simulate",
            str(example_path("weather.yaml")),
            "--json",
            "--paths",
            "300",
            "--seed",
            "5",
        ],
        capsys,
    )
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


def test_auto_sends_a_large_carry_over_model_to_a_method_that_answers(
    monkeypatch, tmp_path, capsys
):
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
    code, out, _ = _run(
        ["ttp", "simulate", str(example_path("weather.yaml")), "--json", "--draws", "2"], capsys
    )
    data = json.loads(out)
    assert code == 0
    assert data["equilibrium"]["supported"] in (True, None)  # never refuted: nothing refutes it
    assert "no prices support" not in data.get("note", "")
    assert "falls short" not in data.get("note", "")
    assert "not certified" in data["note"]
    code, text, _ = _run(
        ["ttp", "simulate", str(example_path("weather.yaml")), "--draws", "2"], capsys
    )
    assert "refuted" not in text and "NO" not in text


def test_files_written_get_the_users_permissions(tmp_path, capsys):
    """Regression: every file written through the atomic writer was created mode 0600."""
    import os

    target = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        code, _, _ = _run(
            ["ttp", "solve", str(example_path("weather.yaml")), "--output", str(target)], capsys
        )
        _run(["examples", "--out", str(tmp_path / "models")], capsys)
    finally:
        os.umask(old)
    assert code == 0
    assert target.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "models" / "weather.yaml").stat().st_mode & 0o777 == 0o644


def test_unknown_method_and_formulation_are_one_line_errors(capsys):
    code, _, err = _run(
        ["ttp", "solve", str(example_path("weather.yaml")), "--method", "fast"], capsys
    )
    assert code == 2 and err.count("\n") == 1 and "--method" in err
    code, _, err = _run(
        ["ttp", "solve", str(example_path("weather.yaml")), "--formulation", "q"], capsys
    )
    assert code == 2 and err.count("\n") == 1 and "--formulation" in err


def test_output_to_a_folder_is_a_one_line_error(tmp_path, capsys):
    code, _, err = _run(
        ["ttp", "solve", str(example_path("weather.yaml")), "--output", str(tmp_path)], capsys
    )
    assert code == 2 and err.count("\n") == 1 and "is a folder" in err


def test_a_solve_stopped_short_of_its_target_says_so_and_exits_3(capsys):
    args = [
        "ttp",
        "solve",
        str(example_path("theme-park.yaml")),
        "--method",
        "market",
        "--time-limit",
        "0",
    ]
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


# ---------------------------------------------------------------------- ttp schedule
def test_schedule_cli_json(capsys):
    args = ["ttp", "schedule", str(example_path("weather.yaml")), "--capacity", "2", "--json"]
    code = run_guarded(app, args)
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["supply"] == [0, 0, 2] and data["welfare"] == pytest.approx(11)
    assert [p["capacity"] for p in data["curve"]] == [0, 1, 2]


# --------------------------------------------------------------------- ttp mechanism
def _mechanism_app() -> typer.Typer:
    app = typer.Typer()
    app.command()(mechanism_command)
    return app


def test_command_vcg_json_has_the_spec_keys():
    result = CliRunner().invoke(_mechanism_app(), [str(example_path("weather.yaml")), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"kind", "welfare", "payments", "payoffs", "revenue"} <= set(data)
    assert data["kind"] == "vcg" and data["welfare"] == pytest.approx(12)
    assert data["payoffs"] == pytest.approx({"A": 5, "B": 5, "C": 2})
    assert set(data["comparison"]["rows"]) == {"vcg", "pivot", "low prices", "high prices"}


def test_command_pivot_json_and_output(tmp_path):
    model_file = tmp_path / "hand.json"
    model_file.write_text(
        json.dumps(
            {
                "model": "ttp",
                "buyers": ["A", "B", "C"],
                "supply": [1, 1],
                "scenarios": {
                    "up": {"probability": 0.5, "values": {"A": 10, "B": 8, "C": 3.5}},
                    "down": {"probability": 0.5, "values": {"A": -6, "B": -2, "C": 3.5}},
                },
                "information": [[["up", "down"]], [["up"], ["down"]]],
            }
        )
    )
    target = tmp_path / "out" / "pivot.json"
    args = [str(model_file), "--kind", "pivot", "--output", str(target)]
    result = CliRunner().invoke(_mechanism_app(), args)
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
    result = CliRunner().invoke(
        _mechanism_app(), [str(example_path("fractional.yaml")), "--kind", "pivot"]
    )
    assert result.exit_code == 0, result.output
    for text in ("dynamic pivot", "periodic individual rationality", "low prices", "revenue"):
        assert text in result.output
    assert "no prices support the integer optimum" in result.output  # the LP's price rows


def test_command_bad_input_exits_2(tmp_path, capsys):
    result = CliRunner().invoke(
        _mechanism_app(), [str(example_path("weather.yaml")), "--kind", "gvc"]
    )
    assert result.exit_code == 2 and "vcg, pivot" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: ttp\nbuyers: [A]\nsupply: [1]\n")
    assert run_guarded(_mechanism_app(), [str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml" in err[0]


# -------------------------------------------------------------------------- ttp plot
def _plot_app() -> typer.Typer:
    app = typer.Typer()
    app.command()(ttp_plot.plot_command)
    return app


def test_plot_command_writes_the_three_pictures(tmp_path):
    result = CliRunner().invoke(
        _plot_app(), [str(example_path("weather.yaml")), "--out", str(tmp_path), "--format", "svg"]
    )
    assert result.exit_code == 0, result.output
    names = ["weather-policies.svg", "weather-prices.svg", "weather-tree.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert all((tmp_path / n).stat().st_size > 1000 for n in names)
    assert all(n in result.output for n in names)


def test_plot_command_rejects_a_bad_format(tmp_path, capsys):
    from treemarket.cli import app
    from treemarket.cli._common import run_guarded

    args = ["ttp", "plot", str(example_path("weather.yaml")), "--format", "gif", "--out"]
    code = run_guarded(app, [*args, str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "png, svg" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [["--help"], ["ttp", "solve", "--help"], ["ttp", "plot", "--help"], ["study", "run", "--help"]],
)
def test_help_is_clean(command):
    """Regression: --help showed <bool> for flags, {file} for the argument, reST markup."""
    result = CliRunner().invoke(app, command, env={"COLUMNS": "100"})
    assert result.exit_code == 0
    for noise in ("<bool>", "{file}", "{FILE}", "``", ":func:"):
        assert noise not in result.output


def test_ten_thousand_sampled_paths_read_on_one_screen(tmp_path):
    """Regression: 10,000 sampled paths (121 nodes) printed 974 lines, events as made-up path
    ids; the report now fits a screen, names nodes by their state history, and --full has all."""
    rng = np.random.default_rng(1)
    step = np.array([[0.6, 0.3, 0.1], [0.25, 0.5, 0.25], [0.1, 0.3, 0.6]])
    states = ["low", "mid", "high"]
    rows = ["t0,t1,t2,t3,t4,a,b,c,d"]
    for _ in range(10_000):
        path = [1]
        for _ in range(4):
            path.append(int(rng.choice(3, p=step[path[-1]])))
        values = 5 + 2 * (np.mean(path[1:]) - 1) + rng.normal(0, 1.5, 4)
        rows.append(",".join([states[k] for k in path] + [f"{v:.2f}" for v in values]))
    (tmp_path / "days.csv").write_text("\n".join(rows) + "\n")
    model = tmp_path / "days.yaml"
    model.write_text("model: ttp\nbuyers: [a, b, c, d]\nsupply: [0, 1, 1, 1, 1]\npaths: days.csv\n")
    short = CliRunner().invoke(app, ["ttp", "solve", str(model)], env={"COLUMNS": "100"})
    assert short.exit_code == 0, short.output
    lines = short.output.splitlines()
    assert len(lines) <= 60
    assert "mid → " in short.output and "p1" not in short.output
    assert "more rows (--full shows them all" in short.output
    full = CliRunner().invoke(app, ["ttp", "solve", str(model), "--full"], env={"COLUMNS": "100"})
    assert len(full.output.splitlines()) > 121  # every node's price row
    data = json.loads(CliRunner().invoke(app, ["ttp", "solve", str(model), "--json"]).output)
    assert all(len(row["event"]) <= 20 for row in data["prices"])
    assert data["prices"][0]["event_size"] == 10_000


@pytest.mark.parametrize(
    "command",
    [
        ["ttp", "solve", "weather.yaml"],
        ["ttp", "simulate", "weather.yaml", "--draws", "2"],
        ["ttp", "schedule", "weather.yaml", "--capacity", "3"],
    ],
)
def test_every_file_written_is_announced(command, tmp_path):
    out = tmp_path / "result.json"
    args = [*command[:2], str(example_path(command[2])), *command[3:], "--output", str(out)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert out.exists() and f"wrote {out}" in result.output
