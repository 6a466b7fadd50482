"""The README's figures are what the library prints: its Python block runs, every result it
quotes in a comment (``# (12.0, 12.0, Fact.PROVEN)``) is the value of that line, and the
figures of its prose (the weather example's 12, 11 and about 10.7) are the simulation's."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from treemarket.examples import bundled_examples

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
CLAIM = re.compile(r"^(\(|\d|True|False|Fact\.)")


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", TEXT, re.M | re.S)


def test_python_block_runs_and_its_quoted_results_hold(tmp_path: Path, monkeypatch) -> None:
    for name, text in bundled_examples().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    names: dict[str, Any] = {}
    checked = 0
    for block in _python_blocks():
        for node in ast.parse(block).body:
            line = block.splitlines()[node.end_lineno - 1]
            source = ast.get_source_segment(block, node)
            comment = line.split("#", 1)[1].strip() if "#" in line else ""
            if isinstance(node, ast.Expr) and CLAIM.match(comment):
                value = eval(compile(ast.Expression(node.value), "README", "eval"), names)
                assert comment.startswith(repr(value)), f"README: {source} gives {value!r}"
                checked += 1
            else:
                exec(compile(ast.Module([node], []), "README", "exec"), names)
    assert checked >= 4


def test_prose_figures_of_the_weather_example() -> None:
    from treemarket.examples import example_path
    from treemarket.io.ttp_file import load_ttp
    from treemarket.ttp import solve
    from treemarket.ttp.simulate import simulate

    assert "12 = 2 + 3.5 + 6.5" in TEXT and "reaches 11" in TEXT and "about 10.7" in TEXT
    model = load_ttp(example_path("weather.yaml"))
    sol = solve(model)
    sim = simulate(model, sol)
    assert sol.welfare == pytest.approx(12.0)
    assert sim.policies["market"].welfare == pytest.approx(12.0)
    assert sim.policies["myopic"].welfare == pytest.approx(11.0)
    assert round(sim.policies["fcfs"].welfare, 1) == 10.7
