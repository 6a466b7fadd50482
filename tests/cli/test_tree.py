"""`treemarket tree ...`: windows, build and evaluate; bad input is one line naming the file,
the row and the column, exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from treemarket.cli import app
from treemarket.cli._common import run_guarded
from treemarket.examples import example_path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_guarded(app, [str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _wide(path: Path, n: int = 60, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = np.abs(np.cumsum(rng.normal(size=(n, 4)), axis=1))
    lines = ["path,rain_0,rain_1,rain_2,rain_3,sky_0,sky_1,sky_2,sky_3"]
    for p in range(n):
        sky = ["sun" if v < 1 else "rain" for v in x[p]]
        lines.append(",".join([f"d{p}", *(f"{v:.3f}" for v in x[p]), *sky]))
    path.write_text("\n".join(lines) + "\n")
    return path


def _long(path: Path, n: int = 40, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    lines = ["path,time,rain,temp"]
    for p in range(n):
        for t in range(3):
            lines.append(f"w{p},{t},{abs(rng.normal()):.3f},{10 + rng.normal():.3f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_build_prints_sizes_and_distances(tmp_path: Path, capsys) -> None:
    code, out, err = _run(
        ["tree", "build", _wide(tmp_path / "p.csv"), "--branching", "3,2,2"], capsys
    )
    assert code == 0, err
    assert "tree fitted by cluster to 60 paths" in out
    assert "W1 rain" in out and "nested distance" in out
    assert "22 nodes, 12 scenarios" in out


def test_build_json_and_tree_file(tmp_path: Path, capsys) -> None:
    target = tmp_path / "tree.json"
    args = ["tree", "build", _long(tmp_path / "l.csv"), "--branching", "2,2", "--out", target]
    code, out, err = _run([*args, "--json", "--method", "reduce"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert json.loads(target.read_text()) == data
    assert data["method"] == "reduce" and data["paths"] == 40
    assert len(data["nodes"]) == 7 and data["variables"] == ["rain", "temp"]
    assert sum(n["probability"] for n in data["nodes"] if n["time"] == 2) == pytest.approx(1)
    assert set(data["distances"]) == {"w1", "joint", "nested", "notes"}


def test_windows_then_evaluate_the_seattle_model(tmp_path: Path, capsys) -> None:
    for name in ("seattle-weather.csv", "seattle.yaml"):
        (tmp_path / name).write_text(example_path(name).read_text())
    series = tmp_path / "seattle-weather.csv"
    train, test = tmp_path / "seattle-2012-2014.csv", tmp_path / "seattle-2015.csv"
    code, out, err = _run(
        ["tree", "windows", series, "--length", "4", "--end", "2014-12-31", "--out", train], capsys
    )
    assert code == 0, err
    assert "1093 paths of 4 periods" in out
    code, _, err = _run(
        ["tree", "windows", series, "--length", "4", "--start", "2015-01-01", "--out", test],
        capsys,
    )
    assert code == 0, err
    # the bundled paths are what the command makes
    assert train.read_text() == example_path("seattle-2012-2014.csv").read_text()
    assert test.read_text() == example_path("seattle-2015.csv").read_text()
    plot = tmp_path / "curve.png"
    args = ["tree", "evaluate", tmp_path / "seattle.yaml", test, "--sizes", "2,2,2"]
    code, out, err = _run([*args, "--plot", plot], capsys)
    assert code == 0, err
    assert "362 held-out paths" in out and plot.exists()
    code, out, err = _run([*args, "--json"], capsys)
    data = json.loads(out)
    assert [s["branching"] for s in data["sizes"]] == [[3, 3, 2], [2, 2, 2]]
    first = data["sizes"][0]
    assert first["in_sample"]["policies"]["tree"]["welfare"] == pytest.approx(first["optimum"])


# --- bad input --------------------------------------------------------------------------


def _one_line_error(code: int, err: str, *parts: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for part in parts:
        assert part in lines[0], (part, lines[0])


def test_ragged_paths(tmp_path: Path, capsys) -> None:
    path = _long(tmp_path / "l.csv")
    lines = path.read_text().splitlines()
    del lines[5]  # path w1 loses its time 1
    path.write_text("\n".join(lines) + "\n")
    code, _, err = _run(["tree", "build", path, "--branching", "2,2"], capsys)
    _one_line_error(code, err, "l.csv:5:", "row 4", "column 'time'", "ragged")


def test_a_ragged_wide_row(tmp_path: Path, capsys) -> None:
    path = _wide(tmp_path / "p.csv")
    lines = path.read_text().splitlines()
    lines[7] = lines[7].rsplit(",", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    code, _, err = _run(["tree", "build", path, "--branching", "2,2,2"], capsys)
    _one_line_error(code, err, "p.csv:8:", "row 7", "8 fields, the header has 9")


@pytest.mark.parametrize("bad", ["", "nan", "NaN", "inf"])
def test_nan_and_missing_values(tmp_path: Path, capsys, bad: str) -> None:
    path = _wide(tmp_path / "p.csv")
    lines = path.read_text().splitlines()
    cells = lines[4].split(",")
    cells[3] = bad  # rain_2 of the fourth path
    lines[4] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    code, _, err = _run(["tree", "build", path, "--branching", "2,2,2"], capsys)
    _one_line_error(code, err, "p.csv:5:", "row 4", "column 'rain_2'")


def test_branching_larger_than_the_data_allows(tmp_path: Path, capsys) -> None:
    path = _wide(tmp_path / "p.csv", n=20)
    code, _, err = _run(["tree", "build", path, "--branching", "3,3,3"], capsys)
    _one_line_error(code, err, "p.csv", "--branching", "27 scenarios but the data has 20 paths")
    code, _, err = _run(
        ["tree", "build", path, "--branching", "3,2,2", "--variables", "sky"], capsys
    )
    _one_line_error(code, err, "p.csv", "--branching[0]", "3 children", "2 distinct")
    code, _, err = _run(["tree", "build", path, "--branching", "3,x"], capsys)
    _one_line_error(code, err, "--branching", "3,x")
    code, _, err = _run(["tree", "build", path, "--branching", "3,2"], capsys)
    _one_line_error(code, err, "--branching", "needs 3 numbers")


def test_unknown_columns(tmp_path: Path, capsys) -> None:
    path = _wide(tmp_path / "p.csv")
    code, _, err = _run(
        ["tree", "build", path, "--branching", "2,2,2", "--variables", "wind"], capsys
    )
    _one_line_error(code, err, "p.csv:1:", "column 'wind'", "no column")
    long = _long(tmp_path / "l.csv")
    code, _, err = _run(
        ["tree", "build", long, "--branching", "2,2", "--layout", "long", "--path-column", "id"],
        capsys,
    )
    _one_line_error(code, err, "l.csv:1:", "column 'id'")
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace("rain_3", "rain_x")
    path.write_text("\n".join(lines) + "\n")
    code, _, err = _run(["tree", "build", path, "--branching", "2,2"], capsys)
    _one_line_error(code, err, "p.csv:1:", "column 'rain_3'", "no column for time 3")


def test_a_model_rule_naming_an_unknown_column(tmp_path: Path, capsys) -> None:
    _wide(tmp_path / "p.csv")
    (tmp_path / "m.yaml").write_text(
        "model: ttp\nbuyers: [a, b]\nsupply: [1, 1, 1, 0]\n"
        "data:\n  paths: p.csv\n  branching: [2, 2, 2]\n"
        "values:\n  a: '10 - rain'\n  b: '5 + wind'\n"
    )
    code, _, err = _run(["ttp", "solve", tmp_path / "m.yaml"], capsys)
    _one_line_error(code, err, "m.yaml:9:", "values.b", "no numeric column 'wind'")
    (tmp_path / "m.yaml").write_text(
        "model: ttp\nbuyers: [a, b]\nsupply: [1, 1, 1, 0]\n"
        "data:\n  paths: p.csv\n  branching: [2, 2, 2]\n"
        "values:\n  a: '10 - rain'\n  b: 'rain.__class__'\n"
    )
    code, _, err = _run(["ttp", "solve", tmp_path / "m.yaml"], capsys)
    _one_line_error(code, err, "m.yaml:9:", "values.b", "is not allowed")


def test_a_model_of_the_data_form_solves(tmp_path: Path, capsys) -> None:
    _wide(tmp_path / "p.csv")
    (tmp_path / "m.yaml").write_text(
        "model: ttp\nbuyers: [a, {name: b, count: 2}]\nsupply: [1, 1, 1, 0]\n"
        "data:\n  paths: p.csv\n  branching: [2, 2, 2]\n  words: {rain: [dry, wet]}\n"
        "values:\n  a: 'clip(10 - 2*rain, 0, 10)'\n  b: '4'\n"
    )
    code, out, err = _run(["ttp", "solve", tmp_path / "m.yaml", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["welfare"] > 0
    assert (
        any("→" in row["node"] for row in data["assignment"] if "node" in row) or data["assignment"]
    )


def test_build_writes_a_self_contained_model_of_the_tree_form(tmp_path: Path, capsys) -> None:
    from treemarket.io.ttp_file import load_ttp
    from treemarket.ttp import solve

    _wide(tmp_path / "p.csv")
    out = tmp_path / "fitted.yaml"
    rules = ["a=clip(10 - 2*rain, 0, 10)", "b=4 + rain"]
    args = ["tree", "build", tmp_path / "p.csv", "--branching", "2,2,2", "--variables", "rain"]
    code, _, err = _run(
        [*args, "--out", out, "--supply", "1,1,1,0", *[x for r in rules for x in ("--value", r)]],
        capsys,
    )
    assert code == 0, err
    assert "tree:" in out.read_text() and "paths" not in out.read_text().split("\n", 1)[1]
    # the same tree and rules as a model of the data form: the same optimum
    (tmp_path / "m.yaml").write_text(
        "model: ttp\nbuyers: [a, b]\nsupply: [1, 1, 1, 0]\n"
        "data:\n  paths: p.csv\n  variables: [rain]\n  branching: [2, 2, 2]\n"
        "values:\n  a: 'clip(10 - 2*rain, 0, 10)'\n  b: '4 + rain'\n"
    )
    written, data_form = load_ttp(out), load_ttp(tmp_path / "m.yaml")
    assert written.tree.n_nodes == data_form.tree.n_nodes
    assert solve(written).welfare == pytest.approx(solve(data_form).welfare, rel=1e-12)
    code, _, err = _run([*args, "--out", tmp_path / "x.yaml"], capsys)
    _one_line_error(code, err, "--out", "needs --supply and a --value per buyer")
    code, _, err = _run([*args, "--value", "a=1"], capsys)
    _one_line_error(code, err, "--value", "go with --out FILE.yaml")
