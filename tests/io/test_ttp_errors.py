"""Every class of bad TTP input: exit status 2, one line naming the file and the place."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from treemarket.cli import app
from treemarket.cli._common import run_guarded
from treemarket.io.ttp_file import to_filtration_dict, to_tree_dict
from treemarket.ttp.examples import weather

BASE = to_filtration_dict(weather())
TREE = to_tree_dict(weather())


def _mutate(base, change):
    data = copy.deepcopy(base)
    change(data)
    return data


def _set(path, value):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _del(path):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


CASES = {
    "unknown top-level key": (BASE, _set(["colour"], "red"), "colour", "unknown key"),
    "unknown scenario key": (
        BASE,
        _set(["scenarios", "FC", "weight"], 1),
        "scenarios.FC.weight",
        "unknown key",
    ),
    "wrong model": (BASE, _set(["model"], "auction"), "model", "expected 'model: ttp'"),
    "supply not a list": (BASE, _set(["supply"], 3), "supply", "list"),
    "negative supply": (BASE, _set(["supply"], [1, -1, 1]), "supply[1]", "greater than or equal"),
    "fractional supply": (BASE, _set(["supply"], [1, 1.5, 1]), "supply[1]", "integer"),
    "probability a string": (
        BASE,
        _set(["scenarios", "FC", "probability"], "half"),
        "scenarios.FC.probability",
        "number",
    ),
    "probabilities do not sum to 1": (
        BASE,
        _set(["scenarios", "FC", "probability"], 0.3),
        "scenarios",
        "sum to",
    ),
    "negative probability": (
        BASE,
        _set(["scenarios", "FC", "probability"], -0.25),
        "scenarios.FC.probability",
        "probability",
    ),
    "infinite value": (
        BASE,
        _set(["scenarios", "FC", "values", "A"], float("inf")),
        "scenarios.FC.values.A",
        "finite",
    ),
    "missing value": (
        BASE,
        _del(["scenarios", "CF", "values", "B"]),
        "scenarios.CF.values",
        "missing value for buyer 'B'",
    ),
    "value of an unknown buyer": (
        BASE,
        _set(["scenarios", "CF", "values", "Z"], 1),
        "scenarios.CF.values.Z",
        "unknown buyer",
    ),
    "duplicate buyer": (BASE, _set(["buyers"], ["A", "B", "A"]), "buyers[2]", "appears twice"),
    "partition does not cover": (
        BASE,
        _set(["information", 1], [["FC", "CF"], ["CR"]]),
        "information[1]",
        "does not cover scenario 'RC'",
    ),
    "scenario in two blocks": (
        BASE,
        _set(["information", 1], [["FC", "CF"], ["CR", "RC", "FC"]]),
        "information[1][1][2]",
        "two blocks",
    ),
    "partition does not refine": (
        _mutate(
            BASE,
            _set(
                ["information"],
                [
                    [["FC", "CF", "CR", "RC"]],
                    [["FC", "CF"], ["CR", "RC"]],
                    [["FC", "CR"], ["CF"], ["RC"]],
                ],
            ),
        ),
        lambda d: None,
        "information[2][0]",
        "does not refine",
    ),
    "unknown scenario in a partition": (
        BASE,
        _set(["information", 0], [["FC", "CF", "CR", "RC", "XX"]]),
        "information[0][0][4]",
        "unknown scenario 'XX'",
    ),
    "information of the wrong length": (
        BASE,
        _set(["supply"], [1, 1]),
        "information",
        "partitions",
    ),
    "no form at all": (
        BASE,
        lambda d: [d.pop("scenarios"), d.pop("information")],
        "",
        "exactly one of",
    ),
    "bad buyer count": (
        BASE,
        _set(["buyers"], ["A", "B", {"name": "C", "count": 0}]),
        "buyers[2].count",
        "greater than or equal to 1",
    ),
    "tree: children probabilities": (
        TREE,
        _set(["tree", "children", 0, "probability"], 0.7),
        "tree.children",
        "sum to",
    ),
    "tree: leaf not at depth T": (
        TREE,
        _set(["supply"], [1, 1, 1, 1]),
        "tree.children[0].children[0]",
        "every leaf must be at T = 3",
    ),
    "tree: leaf without values": (
        TREE,
        _del(["tree", "children", 1, "children", 0, "values"]),
        "tree.children[1].children[0].values",
        "missing values",
    ),
    "tree: duplicate scenario": (
        TREE,
        _set(["tree", "children", 1, "children", 0, "scenario"], "FC"),
        "tree.children[1].children[0].scenario",
        "appears twice",
    ),
    "tree: unknown key": (
        TREE,
        _set(["tree", "children", 0, "colour"], 1),
        "tree.children[0].colour",
        "unknown key",
    ),
}


def _run(args, capsys):
    code = run_guarded(app, args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_line(case, tmp_path, capsys):
    base, change, place, fragment = CASES[case]
    data = _mutate(base, change)
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    out_file = tmp_path / "result.json"
    code, out, err = _run(["ttp", "solve", str(path), "--output", str(out_file)], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0]
    assert f": {place}: " in lines[0] or (not place and "exactly one of" in lines[0]), lines[0]
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in err
    assert not out_file.exists()  # nothing half-written


def test_the_line_number_is_given(tmp_path, capsys):
    path = tmp_path / "m.yaml"
    text = Path(__file__).parents[2].joinpath("src/treemarket/examples/weather.yaml").read_text()
    path.write_text(text.replace("supply: [1, 1, 1]", "supply: [1, -1, 1]"))
    code, _, err = _run(["ttp", "solve", str(path)], capsys)
    line = next(k for k, ln in enumerate(text.splitlines(), 1) if ln.startswith("supply"))
    assert code == 2 and f"{path}:{line}: supply[1]:" in err


@pytest.mark.parametrize(
    "content, fragment",
    [("model: ttp\nbuyers: [A\n", "not valid YAML"), ("", "empty"), ("- 1\n- 2\n", "mapping")],
)
def test_unparseable_files(content, fragment, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    code, _, err = _run(["ttp", "solve", str(path)], capsys)
    assert code == 2 and fragment in err and str(path) in err and len(err.strip().splitlines()) == 1


def test_json_syntax_error_names_the_line(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"model": "ttp",\n "buyers": ["A"],\n "supply": [1,,]}')
    code, _, err = _run(["ttp", "solve", str(path)], capsys)
    assert code == 2 and f"{path}:3:" in err and "not valid JSON" in err


def test_missing_file(tmp_path, capsys):
    code, _, err = _run(["ttp", "solve", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "cannot read file" in err and "nope.yaml" in err


def test_end_to_end_no_traceback(tmp_path):
    """Through the installed console script, as a user runs it."""
    path = tmp_path / "m.json"
    data = _mutate(BASE, _set(["supply"], [1, 0.5, 1]))
    path.write_text(json.dumps(data))
    exe = Path(sys.executable).parent / "treemarket"
    proc = subprocess.run(
        [str(exe), "ttp", "solve", str(path), "--json"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "supply[1]" in proc.stderr


def test_a_file_nested_too_deeply_is_one_line(tmp_path, capsys):
    path = tmp_path / "deep.yaml"
    path.write_text("model: ttp\nbuyers: " + "[" * 5000 + "]" * 5000 + "\n")
    code, _, err = _run(["ttp", "solve", str(path)], capsys)
    assert code == 2 and "nested too deeply" in err and len(err.strip().splitlines()) == 1
