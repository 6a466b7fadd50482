"""The notebook tutorial (docs/tutorial.ipynb) runs top to bottom, and its cells show what it
says: a short line for a solution, a notebook view with the tree, DataFrames named by node.

The code cells run in order in one namespace, like a kernel would run them; the last
expression of a cell is its output, kept for the checks.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pandas as pd

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def run_cells(path: Path) -> list[Any]:
    """Execute the code cells of a notebook; the value of each cell's last expression."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    names: dict[str, Any] = {}
    outputs = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse("".join(cell["source"]))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, str(path), "exec"), names)
        value = None
        if last is not None:
            value = eval(compile(ast.Expression(last.value), str(path), "eval"), names)
        outputs.append(value)
    return outputs


def test_the_tutorial_runs_and_shows_what_it_says() -> None:
    outputs = run_cells(NOTEBOOK)
    model, sol, facts, purchases, prices, _, efficiency, top_days, by_time = outputs
    assert repr(model).startswith("TTPModel('weather'")
    assert repr(sol).startswith("TTPSolution(exact: welfare 12")
    assert "<svg" in sol._repr_html_()
    assert facts[0] == 12.0 and str(facts[1]) == "proven"
    assert isinstance(purchases, pd.DataFrame) and "node" in purchases
    assert isinstance(prices, pd.DataFrame) and len(prices) == 7
    assert efficiency["market"] == 1.0 and efficiency["fcfs"] < 1.0
    assert len(top_days) == 5 and top_days["node"].str.contains("→").all()
    assert list(by_time.columns) == ["min", "mean", "max"]
