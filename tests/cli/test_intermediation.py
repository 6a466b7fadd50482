"""`treemarket intermediation solve|plot`: the JSON keys (docs/json.md), the report, the pictures,
and every class of bad input giving exit status 2 with one line naming the file, the line and the
place."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from treemarket.cli import app
from treemarket.cli._common import run_guarded
from treemarket.cli.intermediation import demo, write_picture
from treemarket.examples import example_path
from treemarket.intermediation import analyze, example_tree

#: The example file of docs/intermediation.md (the format: docs/formats.md).
FILE_EXAMPLE = """\
model: intermediation
name: fig-1a
tree:
  name: "0"
  products: [1, 2, 3, 4]
  limit: 6
  children:
    - name: "1"
      products: [1, 2, 3]
      children:
        - {name: "3", products: [1, 2], limit: 16}
        - name: "4"
          products: [3]
          children:
            - {name: "6", products: [3], limit: 8}
    - name: "2"
      products: [4]
      children:
        - {name: "5", products: [4], limit: 8}
"""


def _run(args, capsys):
    code = run_guarded(app, ["intermediation", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _write(tmp_path, text, name="model.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_solve_json_has_the_documented_keys(tmp_path, capsys):
    path = _write(tmp_path, FILE_EXAMPLE)
    code, out, err = _run(["solve", str(path), "--json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["profitable"] is True
    assert data["surplus"] == pytest.approx(26)
    assert data["transactions"] == 6
    assert data["chains"] == [["0", "1", "3"], ["0", "1", "4", "6"], ["0", "2", "5"]]
    eq = data["equal_utility"]
    assert set(eq) >= {"h", "prices", "nonnegative"}
    assert eq["h"] == pytest.approx(26 / 7) and eq["nonnegative"] is True
    assert list(eq["prices"]) == ["1", "3", "4", "6", "2", "5"]  # keyed by the buying node
    pricing = data["pricing"]
    assert set(pricing) >= {"rule", "prices", "utilities"}
    assert pricing["rule"] == "leximin"
    assert set(pricing["prices"]) == {"1", "2", "3", "4", "5", "6"}
    assert set(pricing["utilities"]) == {"0", "1", "2", "3", "4", "5", "6"}
    assert min(pricing["prices"].values()) >= 0
    assert sum(pricing["utilities"].values()) == pytest.approx(26)
    assert pricing["prices"] == pytest.approx(eq["prices"])  # Prop. 3 applies


@pytest.mark.parametrize("rule", ["leximin", "egalitarian", "nash"])
def test_open_case_json_for_each_rule(rule, capsys):
    code, out, _ = _run(
        ["solve", str(example_path("intermediation-open-case.yaml")), "--json", "--rule", rule],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    assert data["equal_utility"]["nonnegative"] is False
    assert data["equal_utility"]["negative"] == ["4", "2"]
    pricing = data["pricing"]
    assert pricing["rule"] == rule
    assert min(pricing["prices"].values()) >= 0
    assert sum(pricing["utilities"].values()) == pytest.approx(30)
    assert pricing["certificate"]["ok"] is True
    if rule == "egalitarian":
        assert pricing["unique"] is False and "utility_range" in pricing


def test_general_solvers_from_the_command_line(capsys):
    path = str(example_path("intermediation-open-case.yaml"))
    outs = {}
    for rule, method in (("leximin", "auto"), ("leximin", "lp"), ("nash", "cvxpy")):
        code, out, _ = _run(["solve", path, "--json", "--rule", rule, "--method", method], capsys)
        assert code == 0
        outs[method] = json.loads(out)["pricing"]
    for method in ("lp", "cvxpy"):
        assert outs[method]["utilities"] == pytest.approx(outs["auto"]["utilities"], abs=1e-7)


def test_unprofitable_json_and_report(capsys):
    path = str(example_path("intermediation-unprofitable.yaml"))
    code, out, _ = _run(["solve", path, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["profitable"] is False and data["witness"] is None
    assert data["shortfall"] == pytest.approx(6)
    assert data["pricing"]["welfare"]["nash_log"] is None
    code, out, _ = _run(["solve", path], capsys)
    assert code == 0 and "not collectively profitable, by 6" in out


def test_output_is_written_atomically(tmp_path, capsys):
    target = tmp_path / "sub" / "r.json"
    path = str(example_path("intermediation-fig1a.yaml"))
    code, out, _ = _run(["solve", path, "--output", str(target)], capsys)
    assert code == 0 and "wrote" in out
    assert json.loads(target.read_text())["transactions"] == 6
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]


def test_report_shows_chains_verdict_prices_and_rule(capsys):
    code, out, _ = _run(["solve", str(example_path("intermediation-open-case.yaml"))], capsys)
    assert code == 0
    for text in (
        "0 → 1 → 4 → 6",
        "collectively profitable",
        "Prop. 3 does not apply",
        "rule leximin",
        "11.3333",  # p3 of the constrained optimum
        "certificate ok",
    ):
        assert text in out


def test_report_on_the_network_example_and_egalitarian_non_uniqueness(capsys):
    path = str(example_path("intermediation-network.yaml"))
    code, out, _ = _run(["solve", path, "--rule", "egalitarian"], capsys)
    assert code == 0
    assert "not unique" in out and "u in [" in out


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_plot_writes_the_picture(tmp_path, capsys, fmt):
    path = str(example_path("intermediation-open-case.yaml"))
    code, out, _ = _run(["plot", path, "--out", str(tmp_path), "--format", fmt], capsys)
    assert code == 0
    picture = tmp_path / f"intermediation-open-case.{fmt}"
    assert picture.exists() and picture.stat().st_size > 1000
    if fmt == "svg":
        text = picture.read_text()
        assert "<svg" in text


def test_saved_file_is_complete(tmp_path):
    result = analyze(example_tree(b=8, s=6))
    path = tmp_path / "fig.svg"
    figure = write_picture(result, path, "svg")
    text = path.read_text()
    assert text.rstrip().endswith("</svg>")
    assert "p = 0.5714" in figure.treemarket_data["edge_labels"].values()
    assert [p.name for p in tmp_path.iterdir()] == ["fig.svg"]


def test_demo_reports_every_example_and_writes_pictures(tmp_path, capsys):
    demo(tmp_path)
    out = capsys.readouterr().out
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "intermediation-fig1a.png",
        "intermediation-network.png",
        "intermediation-open-case.png",
        "intermediation-unprofitable.png",
    ]
    assert out.count("Chains") == 4


# ------------------------------------------------------------------ bad input: exit 2, one line


def _edit(old, new):
    assert old in FILE_EXAMPLE
    return FILE_EXAMPLE.replace(old, new, 1)


BAD_FILES = [
    # (text, line, place, message)
    (_edit("limit: 6", 'limit: "six"'), 6, "tree.limit", "a limit price must be a number"),
    (_edit("limit: 6", "limit: -6"), 6, "tree.limit", "greater than or equal to 0"),
    (_edit("limit: 6", "limit: .inf"), 6, "tree.limit", "finite number"),
    (_edit("  limit: 6\n", ""), 3, "tree", "needs its limit price s"),
    (_edit("model: intermediation", "model: ttp"), 1, "model", "'intermediation'"),
    (_edit("name: fig-1a", "name: fig-1a\ncolour: red"), 3, "colour", "unknown key"),
    (
        _edit("products: [3]\n", "products: [3]\n          colour: red\n"),
        14,
        "tree.children[0].children[1].colour",
        "unknown key",
    ),
    (
        _edit("      products: [4]\n", ""),
        16,
        "tree.children[1].products",
        "required key is missing",
    ),
    (_edit('name: "2"', "name: 2.5"), 16, "tree.children[1].name", "must be a string"),
    (
        _edit('{name: "6", products: [3], limit: 8}', '{name: "6", products: [], limit: 8}'),
        14,
        "tree.children[0].children[1].children",
        "node '4': products {3} are in no child",
    ),
    (
        _edit(
            '{name: "3", products: [1, 2], limit: 16}',
            '{name: "3", products: [1, 2, 3], limit: 16}',
        ),
        10,
        "tree.children[0].children",
        "node '1': product {3} is in more than one child ('3', '4')",
    ),
    (
        _edit('{name: "5", products: [4], limit: 8}', '{name: "5", products: [5], limit: 8}'),
        18,
        "tree.children[1].children",
        "products {5} that this node lacks",
    ),
    (
        _edit("products: [1, 2, 3]", "products: [1, 2, 2, 3]"),
        9,
        "tree.children[0].products",
        "product 2 is listed twice",
    ),
    (
        _edit('{name: "5", products: [4], limit: 8}', '{name: "5", products: [4]}'),
        19,
        "tree.children[1].children[0]",
        "customer '5' (a leaf) needs a limit price b",
    ),
    (
        _edit("products: [3]\n", "products: [3]\n          limit: 3\n"),
        14,
        "tree.children[0].children[1].limit",
        "intermediary '4' must not carry a limit price",
    ),
    (
        _edit('{name: "6", products: [3], limit: 8}', '{name: "3", products: [3], limit: 8}'),
        15,
        "tree.children[0].children[1].children[0].name",
        "node name '3' is used twice (first at tree.children[0].children[0])",
    ),
    ("model: intermediation\ntree: {name: S, products: [1], limit: 1}\n", 2, "tree", "no children"),
    ("- a\n- b\n", None, "", "must be a mapping"),
    ("model: intermediation\nmodel: intermediation\n", 2, None, "duplicate key"),
    ("tree: [1, 2\n", None, None, "not valid YAML"),
    ("", None, None, "the file is empty"),
]


@pytest.mark.parametrize(("text", "line", "place", "message"), BAD_FILES)
def test_bad_files_exit_2_with_one_line_naming_file_line_and_place(
    tmp_path, capsys, text, line, place, message
):
    path = _write(tmp_path, text)
    code, out, err = _run(["solve", str(path)], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    head = f"error: {path}:{line}: " if line else f"error: {path}"
    assert err.startswith(head), err
    if place:
        assert f": {place}: " in err, err
    assert message in err, err


def test_bad_json_file_names_its_line(tmp_path, capsys):
    path = _write(tmp_path, '{"model": "intermediation",\n "tree": [}\n', "m.json")
    code, _, err = _run(["solve", str(path), "--json"], capsys)
    assert code == 2 and err.startswith(f"error: {path}:2: not valid JSON")


def test_missing_file(tmp_path, capsys):
    code, _, err = _run(["solve", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "cannot read file" in err and err.count("\n") == 1


def test_a_file_nested_too_deep_for_the_parser_is_one_line(tmp_path, capsys):
    text = "model: intermediation\ntree: " + "[" * 5000 + "]" * 5000 + "\n"
    path = _write(tmp_path, text)
    code, _, err = _run(["solve", str(path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_nash_on_an_unprofitable_tree_is_refused_with_exit_2(capsys):
    path = str(example_path("intermediation-unprofitable.yaml"))
    code, out, err = _run(["solve", path, "--rule", "nash", "--json"], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: rule 'nash' is undefined") and err.count("\n") == 1


def test_unknown_rule_is_a_usage_error(capsys):
    path = str(example_path("intermediation-fig1a.yaml"))
    code, _, _ = _run(["solve", path, "--rule", "utilitarian"], capsys)
    assert code == 2
    code, _, err = _run(["solve", path, "--rule", "leximin", "--method", "cvxpy"], capsys)
    assert code == 2 and "cvxpy" in err


def test_a_real_process_prints_one_line_and_no_traceback(tmp_path):
    exe = Path(sys.executable).parent / "treemarket"  # installed with the package
    path = _write(tmp_path, _edit("limit: 6", "limit: -6"))
    proc = subprocess.run(
        [str(exe), "intermediation", "solve", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith(f"error: {path}:6: tree.limit: ")
